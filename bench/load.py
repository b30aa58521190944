"""Load test: a crowd of labelers against a real Concord server, then the invariants checked.

    .venv/bin/python bench/load.py --labelers 50 --duration 60

1. (Re)creates the database --db (default `concord_load`), migrates it, and seeds one project:
   --images images, --per-image labelers per image (N), --labelers labelers who acknowledged the
   current instructions, two classes.
2. Starts a Celery worker (-c --celery, on a queue of its own) and gunicorn (--gunicorn worker
   processes) on 127.0.0.1 with DEBUG off, both on PostgreSQL and Redis.
3. Every labeler is a thread with its own HTTP session: it logs in (POST /api/auth/token/ with its
   password) and, until --duration seconds have passed, takes an image (POST queue/next/),
   autosaves its boxes --autosaves times (PUT /api/annotations/{id}/, one more box each time) and
   submits (POST .../submit/), pausing a random 0.5x-1.5x --think seconds before each request.
4. Waits for the worker to drain (every complete image assessed, at most --drain seconds), then
   checks from the database: no image has more than N label sets; every submit the client saw
   succeed is in the database, submitted, by that labeler, with exactly the boxes last saved;
   every complete image is assessed after its last submit. Exit status 1 if any check fails.

--gold K makes K of the images (the highest ids) gold, with two true boxes each, and mixes them
into every labeler's queue at --gold-rate; the run then also checks that every gold answer
submitted was scored. --gold-qualification Q serves each labeler Q gold images first (a
qualification set); the crowd then needs --truth-boxes to pass it: every labeler draws the two
true boxes (TRUTH_BOXES) first on every image, then random ones, so a gold answer of 3 boxes
scores 2/3, and the bench policy qualifies and keeps labelers from 0.5. Use --truth-boxes in
the run without gold too, so both runs send the same boxes.

Prints p50/p95/p99 latency per request kind as the client saw it, throughput, errors and the load
average. The Crowd and the checks are also used by tests/hardening/test_load.py (a short run).
"""

from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "load-test-password-1"  # noqa: S105 - a throwaway bench database
IMAGE_SIZE = (640, 480)
TRUTH_BOXES = [  # (x, y, width, height, class index): the gold boxes of seed_gold
    (40, 40, 120, 90, 0),
    (300, 200, 150, 100, 1),
]


# -- the crowd (no Django here: it only speaks HTTP) ---------------------------------------------


@dataclass
class Submitted:
    """A submit the client saw succeed, and the boxes it last saved for that annotation."""

    annotation: int
    username: str
    boxes: list[dict]


@dataclass
class CrowdResult:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)  # (kind, status) -> count
    submitted: list[Submitted] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # unexpected answers, with their bodies
    trace: list[tuple[float, str, float]] = field(default_factory=list)  # (sent, kind, seconds)
    wall: float = 0.0

    def merge(self, other: CrowdResult) -> None:
        for kind, values in other.latencies.items():
            self.latencies[kind].extend(values)
        self.statuses.update(other.statuses)
        self.submitted.extend(other.submitted)
        self.errors.extend(other.errors)
        self.trace.extend(other.trace)


class Labeler:
    """One simulated labeler: its own session and token, its own random stream."""

    EXPECTED = {
        "token": {200},
        "queue_next": {200, 204, 503},  # 503: every candidate locked by others; retry
        "autosave": {200},
        "submit": {200},
    }

    def __init__(
        self,
        base_url,
        project_id,
        username,
        class_ids,
        *,
        think,
        autosaves,
        seed,
        token=None,
        truth_boxes=False,
    ):
        self.base = base_url.rstrip("/")
        self.project_id = project_id
        self.username = username
        self.class_ids = class_ids
        self.think = think
        self.autosaves = autosaves
        self.random = random.Random(seed)
        self.session = requests.Session()
        self.token = token  # given: no login (it needs the cache, which may be down)
        self.truth_boxes = truth_boxes
        self.result = CrowdResult()

    def run(self, start: threading.Barrier, clock: dict, stop: threading.Event) -> CrowdResult:
        """Log in, wait until every labeler has, then label until the shared deadline."""
        try:
            logged_in = self._login()
        except requests.RequestException as exc:
            self.result.errors.append(f"{self.username}: {type(exc).__name__}: {exc}")
            logged_in = False
        try:
            start.wait()
        except threading.BrokenBarrierError:
            return self.result
        try:
            while logged_in and time.monotonic() < clock["deadline"] and not stop.is_set():
                if not self._one_image(clock["deadline"]):
                    break
        except requests.RequestException as exc:
            self.result.errors.append(f"{self.username}: {type(exc).__name__}: {exc}")
        finally:
            self.session.close()
        return self.result

    def _login(self) -> bool:
        if self.token:
            self.session.headers["Authorization"] = f"Token {self.token}"
            return True
        response = self._request(
            "token",
            "POST",
            "/api/auth/token/",
            json={"username": self.username, "password": PASSWORD},
        )
        if response.status_code != 200:
            return False
        self.session.headers["Authorization"] = f"Token {response.json()['token']}"
        return True

    def _one_image(self, deadline: float) -> bool:
        """Take, autosave and submit one image; False when the queue has nothing left."""
        self._pause()
        response = self._request(
            "queue_next", "POST", f"/api/projects/{self.project_id}/queue/next/"
        )
        if response.status_code == 204:
            return False
        if response.status_code != 200:
            return True
        body = response.json()
        annotation, image = body["annotation"], body["image"]
        saved: list[dict] | None = None  # the boxes the server last acknowledged
        boxes: list[dict] = []
        for k in range(self.autosaves):
            if time.monotonic() >= deadline and saved is not None:
                break
            self._pause()
            boxes = [*boxes, self._box(image, len(boxes))]
            response = self._request(
                "autosave",
                "PUT",
                f"/api/annotations/{annotation}/",
                json={"boxes": boxes, "active_seconds": 3.0 * (k + 1)},
            )
            if response.status_code == 200:
                saved = list(boxes)
        if saved is None:
            return True
        self._pause()
        response = self._request(
            "submit",
            "POST",
            f"/api/annotations/{annotation}/submit/",
            json={"active_seconds": 3.0 * (self.autosaves + 1)},
        )
        if response.status_code == 200:
            self.result.submitted.append(Submitted(annotation, self.username, saved))
        return True

    def _box(self, image: dict, k: int = 0) -> dict:
        r = self.random
        if self.truth_boxes and k < len(TRUTH_BOXES):
            x, y, w, h, c = TRUTH_BOXES[k]
            return {"x": x, "y": y, "width": w, "height": h, "label_class": self.class_ids[c]}
        width, height = image["width"], image["height"]
        w, h = round(r.uniform(10, width / 4), 2), round(r.uniform(10, height / 4), 2)
        return {
            "x": round(r.uniform(0, width - w - 1), 2),
            "y": round(r.uniform(0, height - h - 1), 2),
            "width": w,
            "height": h,
            "label_class": r.choice(self.class_ids),
        }

    def _pause(self) -> None:
        if self.think > 0:
            time.sleep(self.think * self.random.uniform(0.5, 1.5))

    def _request(self, kind: str, method: str, path: str, **kwargs) -> requests.Response:
        started = time.perf_counter()
        response = self.session.request(method, self.base + path, timeout=30, **kwargs)
        elapsed = time.perf_counter() - started
        self.result.latencies[kind].append(elapsed)
        self.result.trace.append((time.time() - elapsed, kind, elapsed))
        self.result.statuses[(kind, response.status_code)] += 1
        if response.status_code not in self.EXPECTED[kind]:
            self.result.errors.append(
                f"{self.username} {method} {path} -> {response.status_code}: {response.text[:300]}"
            )
        return response


def crowd_run(
    base_url: str,
    project_id: int,
    usernames: list[str],
    class_ids: list[int],
    *,
    duration: float,
    think: float,
    autosaves: int,
    seed: int = 0,
    tokens: dict[str, str] | None = None,
    on_start=None,
    truth_boxes: bool = False,
) -> CrowdResult:
    """Every labeler in its own thread; they all log in, then label for `duration` seconds.

    Logins (a deliberately slow password hash) are timed but kept out of the labeling window.
    """
    stop = threading.Event()
    clock = {"deadline": float("inf"), "started": 0.0}

    def begin() -> None:
        if on_start is not None:
            on_start()  # every labeler has logged in
        clock["started"] = time.perf_counter()
        clock["deadline"] = time.monotonic() + duration

    start = threading.Barrier(len(usernames), action=begin, timeout=300)
    labelers = [
        Labeler(
            base_url,
            project_id,
            name,
            class_ids,
            think=think,
            autosaves=autosaves,
            seed=seed + k,
            token=(tokens or {}).get(name),
            truth_boxes=truth_boxes,
        )
        for k, name in enumerate(usernames)
    ]
    results: list[CrowdResult] = []
    lock = threading.Lock()

    def work(labeler: Labeler) -> None:
        result = labeler.run(start, clock, stop)
        with lock:
            results.append(result)

    threads = [threading.Thread(target=work, args=(lab,), daemon=True) for lab in labelers]
    for thread in threads:
        thread.start()
    limit = time.monotonic() + duration + 180
    for thread in threads:
        thread.join(timeout=max(0.0, limit - time.monotonic()))
    stop.set()
    start.abort()
    merged = CrowdResult()
    for result in results:
        merged.merge(result)
    merged.wall = time.perf_counter() - clock["started"] if clock["started"] else 0.0
    if len(results) != len(labelers):
        merged.errors.append(f"{len(labelers) - len(results)} labeler threads did not finish")
    return merged


def percentiles(values: list[float]) -> tuple[float, float, float]:
    """p50, p95, p99 in milliseconds (nearest rank)."""
    if not values:
        return (float("nan"),) * 3
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered)) - 1))] * 1000

    return rank(0.50), rank(0.95), rank(0.99)


# -- the checks (Django ORM; call after django.setup()) ------------------------------------------


def assessment_lag(project_id: int, since=None) -> list[int]:
    """Complete images of the project without an assessment made after their last submit.

    ``since``: only images whose last submit came after this moment (a run's own images).
    """
    from django.db.models import Count, Max, OuterRef, Q, Subquery

    from annotations.models import Annotation
    from projects.models import Image, Project

    n = Project.objects.get(pk=project_id).labelers_per_image
    submitted = Q(annotations__kind="label", annotations__status="submitted")
    last_submit = (
        Annotation.objects.filter(image=OuterRef("pk"), kind="label", status="submitted")
        .order_by()
        .values("image")
        .annotate(last=Max("submitted_at"))
        .values("last")
    )
    complete = (
        Image.objects.filter(project_id=project_id)
        .annotate(sets=Count("annotations", filter=submitted))
        .filter(sets__gte=n)
        .annotate(last=Subquery(last_submit))
    )
    if since is not None:
        complete = complete.filter(last__gte=since)
    return [
        image.pk
        for image in complete.select_related("agreement")
        if not hasattr(image, "agreement") or image.agreement.computed_at < image.last
    ]


def wait_assessed(project_id: int, timeout: float, since=None) -> tuple[list[int], float]:
    """Wait until every complete image is assessed; returns (still missing, seconds waited)."""
    started = time.monotonic()
    missing = assessment_lag(project_id, since)
    while missing and time.monotonic() - started < timeout:
        time.sleep(0.25)
        missing = assessment_lag(project_id, since)
    return missing, time.monotonic() - started


def invariant_problems(project_id: int, submitted: list[Submitted], since=None) -> list[str]:
    """Every broken promise, in words: over-labeled images, a stored label-set count that is
    wrong (the queue trusts it), lost submits, unassessed images."""
    from django.db.models import Count, F

    from annotations.models import Annotation, Box
    from projects.models import Image, Project

    problems = []
    n = Project.objects.get(pk=project_id).labelers_per_image
    over = (
        Image.objects.filter(project_id=project_id)
        .annotate(sets=Count("annotations", filter=_label_q()))
        .filter(sets__gt=n)
        .values_list("pk", "sets")
    )
    problems += [f"image {pk} has {sets} label sets, more than {n}" for pk, sets in over]
    miscounted = (
        Image.objects.filter(project_id=project_id)
        .annotate(sets=Count("annotations", filter=_label_q()))
        .exclude(label_set_count=F("sets"))
        .values_list("pk", "label_set_count", "sets")
    )
    problems += [
        f"image {pk} counts {stored} label sets but has {sets}" for pk, stored, sets in miscounted
    ]

    ids = [s.annotation for s in submitted]
    if len(set(ids)) != len(ids):
        problems.append("the same annotation was submitted (first time) twice")
    stored = {
        a.pk: a
        for a in Annotation.objects.filter(pk__in=ids)
        .select_related("labeler")
        .only("pk", "status", "labeler__username")
    }
    boxes = defaultdict(list)
    for row in Box.objects.filter(annotation_id__in=ids).values(
        "annotation_id", "x", "y", "width", "height", "label_class_id"
    ):
        boxes[row["annotation_id"]].append(
            (row["x"], row["y"], row["width"], row["height"], row["label_class_id"])
        )
    for seen in submitted:
        annotation = stored.get(seen.annotation)
        if annotation is None:
            problems.append(f"submitted annotation {seen.annotation} is not in the database")
            continue
        if annotation.status != Annotation.Status.SUBMITTED:
            problems.append(f"annotation {seen.annotation} is {annotation.status}, not submitted")
        if annotation.labeler.username != seen.username:
            problems.append(f"annotation {seen.annotation} belongs to {annotation.labeler}")
        sent = sorted(
            (b["x"], b["y"], b["width"], b["height"], b["label_class"]) for b in seen.boxes
        )
        got = sorted(boxes[seen.annotation])
        if not _same_boxes(sent, got):
            problems.append(
                f"annotation {seen.annotation}: {len(got)} boxes stored, {len(sent)} saved"
            )
    problems += [
        f"complete image {pk} is not assessed after its last submit"
        for pk in assessment_lag(project_id, since)
    ]
    return problems


def _label_q():
    from django.db.models import Q

    return Q(annotations__kind="label")


def _same_boxes(sent, got) -> bool:
    return len(sent) == len(got) and all(
        a[4] == b[4] and all(abs(x - y) < 1e-6 for x, y in zip(a[:4], b[:4], strict=True))
        for a, b in zip(sent, got, strict=True)
    )


# -- seeding (Django ORM) ------------------------------------------------------------------------


def seed_project(
    *, images: int, labelers: int, per_image: int, prefix: str = "labeler", prelabeled: float = 0
):
    """One project with classes, images, acknowledged instructions and labelers.

    ``prelabeled``: this share of the images (the lowest ids) already has its N submitted label
    sets from the same labelers (no boxes), as in a project well under way.
    Returns (project, usernames, class ids). Every user's password is PASSWORD.
    """
    from django.contrib.auth import get_user_model
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from projects.models import (
        Image,
        InstructionAcknowledgement,
        InstructionVersion,
        LabelClass,
        Membership,
        Project,
    )

    User = get_user_model()
    password = make_password(PASSWORD)  # hashed once: 50 PBKDF2 hashes would take seconds
    lead = User.objects.create(username=f"{prefix}-lead", password=password)
    project = Project.objects.create(
        name=f"Load {prefix}", slug=f"load-{prefix}", labelers_per_image=per_image, created_by=lead
    )
    Membership.objects.create(project=project, user=lead, role="lead")
    classes = [
        LabelClass.objects.create(project=project, name=name, order=k, hotkey=str(k + 1))
        for k, name in enumerate(("car", "truck"))
    ]
    version = InstructionVersion.objects.create(
        project=project, number=1, body="Box every vehicle.", author=lead
    )
    usernames = [f"{prefix}-{k:03d}" for k in range(labelers)]
    users = User.objects.bulk_create(User(username=name, password=password) for name in usernames)
    Membership.objects.bulk_create(
        Membership(project=project, user=user, role="labeler") for user in users
    )
    InstructionAcknowledgement.objects.bulk_create(
        InstructionAcknowledgement(user=user, version=version) for user in users
    )
    rng = random.Random(42)
    width, height = IMAGE_SIZE
    Image.objects.bulk_create(
        (
            Image(
                project=project,
                file=f"load/{prefix}/{k}.jpg",
                original_name=f"{k}.jpg",
                width=width,
                height=height,
                sha256=f"{prefix}{k}".encode().hex().ljust(64, "0")[:64],
                phash=rng.randint(-(2**63), 2**63 - 1),
            )
            for k in range(images)
        ),
        batch_size=2000,
    )
    if prelabeled > 0:
        _prelabel(project, users, per_image, int(images * prelabeled), rng)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # planner statistics, as a database in use has them
    return project, usernames, [c.pk for c in classes]


def seed_gold(project, count: int, rate: float, qualification: int = 0) -> None:
    """The project's last ``count`` images made gold (the two TRUTH_BOXES each), mixed in at
    ``rate``, after a qualification set of ``qualification`` gold images (passed, and kept
    active, from a gold score of 0.5: what the --truth-boxes crowd scores)."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from gold.models import GoldPolicy
    from gold.services import gold_image_save

    lead = get_user_model().objects.get(username=f"{project.slug.removeprefix('load-')}-lead")
    car, truck = project.classes.order_by("order").values_list("pk", flat=True)
    classes = (car, truck)
    boxes = [
        {"x": x, "y": y, "width": w, "height": h, "label_class": classes[c]}
        for x, y, w, h, c in TRUTH_BOXES
    ]
    for image in project.images.order_by("-pk")[:count]:
        gold_image_save(project=project, image=image, user=lead, source="boxes", boxes=boxes)
    GoldPolicy.objects.create(
        project=project,
        rate=rate,
        qualification_size=qualification,
        qualify_threshold=0.5,
        threshold=0.5,
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # statistics with the gold tables filled, as in use


def labeler_tokens(usernames: list[str]) -> dict[str, str]:
    """An API token per labeler, as POST /api/auth/token/ would give them."""
    from django.contrib.auth import get_user_model

    from accounts.tokens import token_create

    users = get_user_model().objects.filter(username__in=usernames)
    return {user.username: token_create(user=user).key for user in users}


def gold_problems(project_id: int, submitted: list[Submitted]) -> list[str]:
    """Every gold answer the crowd submitted is scored; prints how much of the queue was gold."""
    from annotations.models import Annotation
    from gold.models import GoldAnswer

    ids = [s.annotation for s in submitted]
    gold = set(
        Annotation.objects.filter(pk__in=ids, kind=Annotation.Kind.GOLD).values_list(
            "pk", flat=True
        )
    )
    scored = set(
        GoldAnswer.objects.filter(annotation_id__in=gold).values_list("annotation_id", flat=True)
    )
    print(
        f"gold: {len(gold)} of {len(ids)} submitted images were gold ({len(gold) / max(len(ids), 1):.1%})"
    )
    from gold.models import LabelerGold

    states = Counter(
        LabelerGold.objects.filter(project_id=project_id).values_list("state", flat=True)
    )
    print(f"gold standings: {dict(sorted(states.items()))}")
    return [f"gold answer {pk} was submitted but not scored" for pk in sorted(gold - scored)]


def _prelabel(project, users, per_image: int, count: int, rng: random.Random) -> None:
    from django.utils import timezone

    from annotations.models import Annotation

    image_ids = list(project.images.order_by("pk").values_list("pk", flat=True)[:count])
    now = timezone.now()
    Annotation.objects.bulk_create(
        (
            Annotation(
                image_id=image_id,
                labeler=user,
                status=Annotation.Status.SUBMITTED,
                submitted_at=now,
                active_seconds=30,
            )
            for image_id in image_ids
            for user in rng.sample(users, per_image)
        ),
        batch_size=5000,
    )


# -- the benchmark -------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--labelers", type=int, default=50)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of labeling")
    parser.add_argument("--images", type=int, default=5000)
    parser.add_argument("--per-image", type=int, default=3, help="labelers per image (N)")
    parser.add_argument("--prelabeled", type=float, default=0.0, help="share already complete")
    parser.add_argument("--autosaves", type=int, default=3)
    parser.add_argument("--think", type=float, default=1.0, help="mean pause before a request, s")
    parser.add_argument("--gunicorn", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--celery", type=int, default=2, help="Celery worker processes")
    parser.add_argument(
        "--celery-nice", type=int, default=0, help="run the worker at this nice level (0-19)"
    )
    parser.add_argument("--drain", type=float, default=120.0, help="max wait for the worker, s")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--db", default="concord_load", help="database to (re)create")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--trace", help="write every request (sent at, kind, seconds) as CSV here")
    parser.add_argument("--gold", type=int, default=0, help="gold images mixed into the queue")
    parser.add_argument("--gold-rate", type=float, default=0.1, help="share of gold per labeler")
    parser.add_argument(
        "--gold-qualification", type=int, default=0, help="gold images served first to each"
    )
    parser.add_argument(
        "--tokens",
        action="store_true",
        help="give every labeler an API token up front instead of logging in with the password "
        "(50 password hashes at once time out on a crowded machine)",
    )
    parser.add_argument(
        "--truth-boxes",
        action="store_true",
        help="labelers draw the gold's true boxes first (needed to pass a qualification set)",
    )
    args = parser.parse_args()

    os.environ.update(
        DATABASE_URL=f"postgres://{args.pg}/{args.db}",
        REDIS_URL=args.redis,
        CELERY_TASK_DEFAULT_QUEUE=args.db,  # a queue per bench database
        DJANGO_SETTINGS_MODULE="concord.settings",
        DEBUG="0",
        SECRET_KEY="load-bench-" + "x" * 50,
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        LOGIN_MAX_FAILURES="1000",
        PYTHONWARNINGS="ignore:No directory at",  # no collectstatic: the crowd uses the API only
    )
    _create_database(args.pg, args.db)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()
    project, usernames, class_ids = seed_project(
        images=args.images,
        labelers=args.labelers,
        per_image=args.per_image,
        prelabeled=args.prelabeled,
    )
    if args.gold:
        seed_gold(project, args.gold, args.gold_rate, args.gold_qualification)
    port = free_port()
    access_log = str(Path(tempfile.mkdtemp(prefix="concord-load-")) / "access.log")
    processes = [
        start_worker(args.celery, nice=args.celery_nice),
        start_gunicorn(port, args.gunicorn, access_log=access_log),
    ]
    try:
        wait_http(f"http://127.0.0.1:{port}/api/schema/", timeout=60)
        from django.utils import timezone

        since = timezone.now()
        load_before = os.getloadavg()
        server = _children(processes[1].pid)
        worker = [processes[0].pid, *_children(processes[0].pid)]
        postmaster = _postmaster_pid()
        cpu_before = []
        print(
            f"{args.labelers} labelers x {args.duration:.0f} s, N={args.per_image}, "
            f"{args.images} images ({args.prelabeled:.0%} done before), think {args.think} s, {args.autosaves} autosaves, "
            f"{args.gold} gold at {args.gold_rate:.0%} (qualification {args.gold_qualification}), "
            f"truth boxes {'on' if args.truth_boxes else 'off'}, "
            f"gunicorn x{args.gunicorn}, celery x{args.celery} (nice {args.celery_nice}); load before {_load(load_before)}"
        )
        result = crowd_run(
            f"http://127.0.0.1:{port}",
            project.pk,
            usernames,
            class_ids,
            duration=args.duration,
            think=args.think,
            autosaves=args.autosaves,
            on_start=lambda: cpu_before.extend(
                [os.times(), _cpu_seconds(server), _cpu_seconds(worker), _pg_cpu(postmaster)]
            ),
            truth_boxes=args.truth_boxes,
            tokens=labeler_tokens(usernames) if args.tokens else None,
        )
        load_after = os.getloadavg()
        client_times = os.times()
        cpu = (
            client_times.user + client_times.system - cpu_before[0].user - cpu_before[0].system,
            _cpu_seconds(server) - cpu_before[1],
            _cpu_seconds(worker) - cpu_before[2],
            _pg_cpu(postmaster) - cpu_before[3],
        )
        missing, waited = wait_assessed(project.pk, args.drain, since)
        problems = invariant_problems(project.pk, result.submitted, since)
        if args.gold:
            problems += gold_problems(project.pk, result.submitted)
    finally:
        for process in processes:
            stop_process(process)
    _report(result, waited, missing, problems, load_after, cpu)
    print("in the gunicorn worker (the server's own time, from its access log):")
    for kind, values in server_latencies(access_log).items():
        p50, p95, p99 = percentiles(values)
        print(f"  {kind:<10} n={len(values):5d}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
              f"p99 {p99:6.1f} ms")  # fmt: skip
    if args.trace:
        with open(args.trace, "w") as out:
            out.write("sent_at,kind,seconds\n")
            for sent, kind, seconds in sorted(result.trace):
                out.write(f"{sent:.4f},{kind},{seconds:.5f}\n")
    sys.exit(1 if problems or result.errors else 0)


SERVER_LOG_FORMAT = "%(m)s %(U)s %(s)s %(D)s"  # method, path, status, microseconds in the worker
SERVER_KINDS = [
    ("POST", re.compile(r"^/api/projects/\d+/queue/next/$"), "queue_next"),
    ("PUT", re.compile(r"^/api/annotations/\d+/$"), "autosave"),
    ("POST", re.compile(r"^/api/annotations/\d+/submit/$"), "submit"),
]


def server_latencies(access_log: str) -> dict[str, list[float]]:
    """Seconds each request spent in a gunicorn worker, by kind, from the access log.

    The client's figure adds the network, the wait for a free worker, and the crowd's own
    threads (one Python process, one GIL) getting round to reading the answer.
    """
    out: dict[str, list[float]] = defaultdict(list)
    for line in Path(access_log).read_text().splitlines():
        method, path, _, micros = line.split()
        for want, pattern, kind in SERVER_KINDS:
            if method == want and pattern.match(path):
                out[kind].append(int(micros) / 1e6)
    return out


def _report(result: CrowdResult, waited, missing, problems, load_after, cpu) -> None:
    total = sum(n for (kind, _), n in result.statuses.items() if kind != "token")
    print(f"CPU while labeling: gunicorn workers {cpu[1] * 1000 / max(total, 1):.1f} ms per "
          f"request, the crowd's own process {cpu[0]:.1f} s, the Celery worker {cpu[2]:.1f} s, "
          f"PostgreSQL {cpu[3]:.1f} s")  # fmt: skip
    print(f"labeling {result.wall:.1f} s: {total} requests = {total / result.wall:.1f} req/s, "
          f"{len(result.submitted)} submits = {len(result.submitted) / result.wall:.2f}/s; "
          f"load average at the end {_load(load_after)}")  # fmt: skip
    for kind in ("token", "queue_next", "autosave", "submit"):
        values = result.latencies.get(kind, [])
        p50, p95, p99 = percentiles(values)
        statuses = {s: n for (k, s), n in sorted(result.statuses.items()) if k == kind}
        print(f"  {kind:<10} n={len(values):5d}  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  "
              f"p99 {p99:6.1f} ms  max {max(values, default=0) * 1000:6.1f} ms  {statuses}")  # fmt: skip
    print(f"worker drained {waited:.1f} s after the crowd stopped; unassessed: {len(missing)}")
    for line in result.errors[:10]:
        print("  unexpected:", line)
    print("invariants:", "all hold" if not problems else f"{len(problems)} broken")
    for line in problems[:20]:
        print("  BROKEN:", line)


def _children(pid: int) -> list[int]:
    return [int(p) for p in subprocess.run(
        ["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()]  # fmt: skip


def _cpu_seconds(pids: list[int], children: bool = False) -> float:
    """User + system CPU of these processes so far (Linux /proc); ``children``: with that of
    their children that have ended and been waited for."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])
        if children:
            total += int(fields[13]) + int(fields[14])
    return total / os.sysconf("SC_CLK_TCK")


def _postmaster_pid() -> int | None:
    """The local PostgreSQL server's main process, if this machine runs it (else None)."""
    found = subprocess.run(["pgrep", "-o", "-x", "postgres"], capture_output=True, text=True)
    return int(found.stdout.split()[0]) if found.stdout.strip() else None


def _pg_cpu(postmaster: int | None) -> float:
    """CPU of the whole local PostgreSQL server: its processes, and the backends that ended."""
    if postmaster is None:
        return 0.0
    return _cpu_seconds([postmaster, *_children(postmaster)], children=True)


def _load(load) -> str:
    return " ".join(f"{x:.2f}" for x in load)


def _create_database(pg: str, db: str) -> None:
    import psycopg

    with psycopg.connect(f"postgres://{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(
    port: int, workers: int, env: dict | None = None, access_log: str | None = None
) -> subprocess.Popen:
    """gunicorn on 127.0.0.1; with access_log, one line per request with its time in the worker."""
    logging = ["--access-logfile", access_log, "--access-logformat", SERVER_LOG_FORMAT]
    return subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "concord.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", str(workers), "--log-level", "warning",
         "--backlog", "512", "--graceful-timeout", "5", *(logging if access_log else [])],
        cwd=ROOT, env=env or os.environ.copy(), start_new_session=True,
    )  # fmt: skip


def start_worker(
    concurrency: int, env: dict | None = None, extra=(), nice: int = 0
) -> subprocess.Popen:
    """`celery -A concord worker` on the queue CELERY_TASK_DEFAULT_QUEUE, named after it."""
    env = env or os.environ.copy()
    queue = env["CELERY_TASK_DEFAULT_QUEUE"]
    return subprocess.Popen(
        [*(["nice", "-n", str(nice)] if nice else []), sys.executable, "-m", "celery", "-A", "concord", "worker", "-Q", queue,
         "-n", f"{queue}@%h", "-c", str(concurrency), "-l", "warning", "--without-gossip",
         "--without-mingle", "--without-heartbeat", *extra],
        cwd=ROOT, env=env, start_new_session=True,
    )  # fmt: skip


def stop_process(process: subprocess.Popen, timeout: float = 20) -> None:
    """Warm shutdown (SIGTERM to the main process), SIGKILL to the group if it hangs."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def wait_http(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=2).status_code < 500:
                return
        except requests.RequestException:
            pass
        if time.monotonic() > deadline:
            raise SystemExit(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


if __name__ == "__main__":
    main()
