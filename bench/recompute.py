"""Benchmark of the agreement pipeline on PostgreSQL + Redis with real Celery workers.

    .venv/bin/python bench/recompute.py --images 100000 --workers 2

1. (Re)creates the database --db (default `concord_bench`; PostgreSQL at --pg, default
   127.0.0.1:5432, user postgres), migrates it, and fills one project with N images x 3 labelers x ~8 boxes by COPY.
2. Starts one `celery -A concord worker -c <workers>` (prefork: that many worker processes) on
   Redis, on a queue of its own (named after --db), and times a full project recompute from
   recompute_start to the run's `succeeded` (chunks, near duplicates, summary).
3. Sweep: the time of the minute sweep's query (quality.selectors.labels.sweep_find) on the
   filled project, as a first pass (every image, every project's thresholds) and as the
   incremental pass that follows it (labels changed in the last SWEEP_LOOKBACK, thresholds
   known).
4. Latency: for --latency-images new images whose first two labelers have submitted, the third
   labeler submits through the real API (POST /api/annotations/{id}/submit/, token auth, Django
   test client in this process); the time until the image's flags are committed (readable) is
   measured, p50/p95 reported.

With --keep --latency-only the stored results are kept as they are (a filled project whose
recompute ran once) and only steps 3 and 4 run: the 1M-image recompute takes minutes.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLASSES = ["bicycle", "car", "person", "truck"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--latency-images", type=int, default=40)
    parser.add_argument("--keep", action="store_true", help="reuse a filled database")
    parser.add_argument(
        "--from",
        dest="start",
        choices=["empty", "stale"],
        default="empty",
        help="with --keep: start from no stored results (as after the fill; default) or from "
        "the previous run's results made stale (as after a threshold change: every flag synced)",
    )
    parser.add_argument(
        "--latency-only",
        action="store_true",
        help="with --keep: no reset and no recompute, the sweep and latency on the results kept",
    )
    parser.add_argument("--db", default="concord_bench", help="database to (re)create and fill")
    args = parser.parse_args()

    url = f"postgres://{args.pg}/{args.db}"
    os.environ.update(
        DATABASE_URL=url,
        REDIS_URL=args.redis,
        CELERY_TASK_DEFAULT_QUEUE=args.db,  # a queue per bench database
        DJANGO_SETTINGS_MODULE="concord.settings",
    )
    if not args.keep:
        _create_database(args.pg, args.db)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    if not args.keep:
        t = time.perf_counter()
        boxes = _fill(args.images)
        print(f"filled {args.images} images, {boxes} boxes in {time.perf_counter() - t:.1f} s")
    elif args.latency_only:
        _latency_images_remove()
    else:
        _reset(args.start)
    worker = _worker(args.workers)
    try:
        if not args.latency_only:
            _recompute(worker.pid)
        _sweep()
        _latency(args.latency_images)
    finally:
        worker.terminate()  # warm shutdown of the pool
        try:
            worker.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(worker.pid, signal.SIGKILL)


def _create_database(pg: str, db: str) -> None:
    import psycopg

    with psycopg.connect(f"postgres://{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")


def _copy(cursor, table: str, columns: list[str], lines) -> None:
    with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        buffer = io.StringIO()
        for k, line in enumerate(lines):
            buffer.write(line)
            if k % 50_000 == 49_999:
                copy.write(buffer.getvalue())
                buffer = io.StringIO()
        copy.write(buffer.getvalue())


def _fill(n_images: int) -> int:
    """One project, 3 labelers, n_images images with ~8 objects; returns the number of boxes."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from projects.models import LabelClass, Membership, Project

    User = get_user_model()
    lead = User.objects.create_user("lead", password="bench-pw")
    labelers = [User.objects.create_user(n, password="bench-pw") for n in ("ann", "bob", "cho")]
    project = Project.objects.create(
        name="Bench", slug="bench", labelers_per_image=3, created_by=lead
    )
    Membership.objects.create(project=project, user=lead, role="lead")
    for user in labelers:
        Membership.objects.create(project=project, user=user, role="labeler")
    classes = [
        LabelClass.objects.create(project=project, name=name, order=k)
        for k, name in enumerate(CLASSES)
    ]
    rng = np.random.default_rng(42)
    phash = rng.integers(-(2**63), 2**63 - 1, n_images, dtype=np.int64)
    twins = rng.choice(n_images, n_images // 100, replace=False)  # 1 % near duplicates
    phash[twins[1::2]] = phash[twins[0::2][: len(twins[1::2])]] ^ 1
    image_ids = np.arange(1, n_images + 1)
    with connection.cursor() as cur:
        raw = cur.connection.cursor()
        _copy(
            raw,
            "projects_image",
            ["id", "project_id", "file", "original_name", "width", "height", "sha256", "phash",
             "uploaded_at"],
            (
                f"{i}\t{project.pk}\tbench/{i}.jpg\t{i}.jpg\t640\t480\t{i:064x}\t{h}\t2026-01-01\n"
                for i, h in zip(image_ids.tolist(), phash.tolist(), strict=True)
            ),
        )  # fmt: skip
        labeler_ids = [u.pk for u in labelers]
        ann_image = np.repeat(image_ids, 3)
        ann_labeler = np.tile(labeler_ids, n_images)
        ann_ids = np.arange(1, len(ann_image) + 1)
        seconds = rng.uniform(10, 90, len(ann_ids)).round(1)
        _copy(
            raw,
            "annotations_annotation",
            ["id", "image_id", "labeler_id", "kind", "status", "started_at", "updated_at",
             "submitted_at", "active_seconds"],
            (
                f"{a}\t{i}\t{u}\tlabel\tsubmitted\t2026-01-01\t2026-01-01\t2026-01-01\t{s}\n"
                for a, i, u, s in zip(
                    ann_ids.tolist(), ann_image.tolist(), ann_labeler.tolist(), seconds.tolist(),
                    strict=True,
                )
            ),
        )  # fmt: skip
        # Truth: 8 objects per image; each labeler jitters (1.2 px), misses 5 %, swaps 3 % of classes.
        objects = 8
        obj_image = np.repeat(np.arange(n_images), objects)
        xy = rng.uniform(0, 560, (len(obj_image), 2))
        wh = rng.uniform(20, 80, (len(obj_image), 2))
        cls = rng.integers(0, len(classes), len(obj_image))
        rows = []
        for k in range(3):
            keep = rng.random(len(obj_image)) > 0.05
            jitter = rng.normal(0, 1.2, (len(obj_image), 4))
            box_xy = np.clip(xy + jitter[:, :2], 0, None)
            box_wh = np.clip(wh + jitter[:, 2:], 4, None)
            box_cls = np.where(rng.random(len(obj_image)) < 0.03, (cls + 1) % 4, cls)
            annotation = obj_image * 3 + k + 1
            rows.append(np.column_stack([annotation, box_cls, box_xy, box_wh])[keep])
        table = np.concatenate(rows)
        class_ids = np.array([c.pk for c in classes])
        _copy(
            raw,
            "annotations_box",
            ["annotation_id", "label_class_id", "x", "y", "width", "height"],
            (
                f"{int(a)}\t{class_ids[int(c)]}\t{x:.2f}\t{y:.2f}\t{w:.2f}\t{h:.2f}\n"
                for a, c, x, y, w, h in table.tolist()
            ),
        )
        for table_name in ("projects_image", "annotations_annotation"):
            cur.execute(
                f"SELECT setval(pg_get_serial_sequence('{table_name}', 'id'), "
                f"(SELECT MAX(id) FROM {table_name}))"
            )
        cur.execute("ANALYZE")
    return len(table)


def _latency_images_remove() -> None:
    from projects.models import Image

    Image.objects.filter(original_name__startswith="new").delete()  # the last latency images


def _reset(start: str) -> None:
    """Back to the state after the fill (or to stale results): same work for every run."""
    from django.db import connection

    from quality.models import AgreementRun, ConsensusBox, Flag, ImageAgreement

    _latency_images_remove()
    tables = [AgreementRun._meta.db_table]
    if start == "empty":
        tables += [m._meta.db_table for m in (Flag.labelers.through, Flag, ConsensusBox)]
        tables.append(ImageAgreement._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
        if start == "stale":
            cursor.execute(f"UPDATE {ImageAgreement._meta.db_table} SET input_digest = 'stale'")
        cursor.execute(f"VACUUM ANALYZE {ImageAgreement._meta.db_table}")


def _worker(concurrency: int) -> subprocess.Popen:
    import socket

    from concord.celery import app

    name = f"{os.environ['CELERY_TASK_DEFAULT_QUEUE']}@{socket.gethostname()}"  # as -n below
    if app.control.ping(timeout=1.0, destination=[name]):
        raise SystemExit(f"a worker {name} already consumes the bench queue: stop it first")
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "concord", "worker", "-Q", os.environ["CELERY_TASK_DEFAULT_QUEUE"],
         "-n", os.environ["CELERY_TASK_DEFAULT_QUEUE"] + "@%h", "-c", str(concurrency), "-l", "warning", "--without-gossip",
         "--without-mingle", "--without-heartbeat"],
        cwd=ROOT, env=os.environ.copy(), start_new_session=True,
    )  # fmt: skip
    app.control.purge()
    deadline = time.monotonic() + 60
    while not app.control.ping(timeout=0.5, destination=[name]):
        if time.monotonic() > deadline or process.poll() is not None:
            os.killpg(process.pid, signal.SIGKILL)  # never leave a worker on the bench queue
            raise SystemExit("the Celery worker did not start")
    return process


def _cpu_seconds(worker_pid: int) -> float:
    """CPU time so far of the worker's processes (Python side of the pipeline).

    PostgreSQL's share is not counted here: Celery closes the database connection after every
    task, so each chunk runs in a backend that is gone by the end; bench/recompute_chunk.py
    measures it per chunk.
    """
    children = Path(f"/proc/{worker_pid}/task/{worker_pid}/children")
    total = 0
    for pid in [worker_pid] + [int(p) for p in children.read_text().split()]:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # ended meanwhile
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _recompute(worker_pid: int) -> None:
    from django.db.models import Count

    from annotations.models import Box
    from projects.models import Project
    from quality.enqueue import recompute_start
    from quality.models import Flag

    project = Project.objects.get(slug="bench")
    boxes = Box.objects.filter(annotation__image__project=project).count()
    cpu = _cpu_seconds(worker_pid)
    t = time.perf_counter()
    run = recompute_start(project=project, reason="benchmark")
    chunks_done = None
    while True:
        run.refresh_from_db()
        if chunks_done is None and run.done >= run.total:
            chunks_done = time.perf_counter() - t
        if run.state in ("succeeded", "failed"):
            break
        time.sleep(0.1)
    wall = time.perf_counter() - t
    cpu = _cpu_seconds(worker_pid) - cpu
    flags = dict(
        Flag.objects.filter(project=project).values("kind").order_by().annotate(n=Count("id"))
        .values_list("kind", "n")
    )  # fmt: skip
    print(
        f"recompute: {run.state} {run.done}/{run.total} images, {boxes} boxes in {wall:.1f} s "
        f"= {boxes / wall:,.0f} boxes/s (chunks {chunks_done or wall:.1f} s, then near "
        f"duplicates and summary {wall - (chunks_done or wall):.1f} s; Python CPU of the "
        f"workers {cpu:.0f} s); flags {flags}; "
        f"error={run.error!r}"
    )


def _sweep(repeats: int = 5) -> None:
    """The sweep's query as its first pass and as the incremental passes after it (median).

    On a tree from before the incremental sweep (no quality.selectors.sweep), its
    images_to_sweep, which read every image on every pass, is timed instead: the before of
    BENCHMARKS.md.
    """
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    now = timezone.now()
    bounds = {
        "limit": settings.AGREEMENT_SWEEP_BATCH,
        "settled_before": now - timedelta(seconds=60),
        "runs_after": now - timedelta(seconds=settings.AGREEMENT_CHUNK_STALLED_SECONDS),
    }
    try:
        from quality.selectors.sweep import sweep_find
        from quality.tasks import SWEEP_LOOKBACK
    except ImportError:
        try:
            from quality.selectors.labels import images_to_sweep
        except ImportError:
            from quality.selectors import images_to_sweep
        times = []
        for _ in range(repeats):
            t = time.perf_counter()
            found = images_to_sweep(**bounds)
            times.append(time.perf_counter() - t)
        print(
            f"sweep query (every pass reads every image): {np.median(times) * 1000:.0f} ms "
            f"(median of {repeats}), found {sum(len(ids) for ids in found.values())}"
        )
        return

    t = time.perf_counter()
    first = sweep_find(**bounds)
    first_seconds = time.perf_counter() - t
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        later = sweep_find(
            **bounds,
            changed_after=bounds["settled_before"] - SWEEP_LOOKBACK,
            thresholds_current=first.thresholds_current,
        )
        times.append(time.perf_counter() - t)
    found = sum(len(ids) for ids in first.images.values())
    print(
        f"sweep query: first pass (every image and project) {first_seconds * 1000:.0f} ms, "
        f"found {found}; incremental pass {np.median(times) * 1000:.1f} ms (median of "
        f"{repeats}), found {sum(len(ids) for ids in later.images.values())}"
    )


def _latency(n: int) -> None:
    from django.test import Client
    from django.utils import timezone
    from rest_framework.authtoken.models import Token

    from annotations.models import Annotation, Box
    from projects.models import Image, LabelClass, Project
    from quality.models import ImageAgreement

    project = Project.objects.get(slug="bench")
    car = LabelClass.objects.get(project=project, name="car")
    truck = LabelClass.objects.get(project=project, name="truck")
    users = {u.username: u for u in project.memberships.select_related("user").all() and
             [m.user for m in project.memberships.select_related("user")]}  # fmt: skip
    token = Token.objects.get_or_create(user=users["cho"])[0].key
    client = Client(HTTP_AUTHORIZATION=f"Token {token}")
    rng = np.random.default_rng(7)
    times = []
    for k in range(n):
        image = Image.objects.create(
            project=project, file=f"bench/new{k}.jpg", original_name=f"new{k}.jpg", width=640,
            height=480, sha256=f"new{k:061x}", phash=int(rng.integers(-(2**62), 2**62)),
        )  # fmt: skip
        last = None
        for name, cls in (("ann", car), ("bob", car), ("cho", truck)):
            submitted = name != "cho"
            annotation = Annotation.objects.create(
                image=image,
                labeler=users[name],
                status="submitted" if submitted else "draft",
                submitted_at=timezone.now() if submitted else None,
            )
            Box.objects.bulk_create(
                Box(annotation=annotation, label_class=cls, x=10 + 60 * j, y=10, width=50,
                    height=40)
                for j in range(8)
            )  # fmt: skip
            last = annotation
        t = time.perf_counter()
        response = client.post(
            f"/api/annotations/{last.pk}/submit/", content_type="application/json"
        )
        assert response.status_code == 200, response.content
        while not ImageAgreement.objects.filter(image=image).exists():
            time.sleep(0.005)
        times.append(time.perf_counter() - t)
    p50, p95 = np.percentile(times, [50, 95])
    print(
        f"latency submit -> flags readable over {n} images: p50 {p50 * 1000:.0f} ms, "
        f"p95 {p95 * 1000:.0f} ms, max {max(times) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
