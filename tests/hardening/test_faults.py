"""Faults, with real processes: a worker killed mid-recompute, Redis restarted while labelers
submit, the database connection lost under a running server (issue #8, item 4).

Each test starts its own processes (tests/hardening/conftest.py) on the test database, on a
queue of their own; the Redis that (b) stops and restarts is its own, never the shared one.
"""

import os
import random
import signal
import time
from datetime import timedelta

import psycopg
import pytest
import requests
from django.db import connection, transaction
from django.db.models import F
from django.test import Client
from django.utils import timezone
from rest_framework.authtoken.models import Token

from annotations.models import Annotation, Box
from bench.load import assessment_lag, crowd_run, invariant_problems, seed_project
from projects.models import Image
from quality.enqueue import recompute_start
from quality.models import AgreementRun, ConsensusBox, Flag, ImageAgreement
from tests.conftest import wait_for
from tests.hardening.conftest import process_env

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.postgresql(
        reason="other processes (workers, gunicorn) share the test database, which an in-memory "
        "SQLite test database cannot"
    ),
]
THROUGH_THE_BROKER = pytest.mark.redis(reason="the recompute goes through a real broker")


# -- (a) a worker killed with SIGKILL in the middle of a project recompute ----------------------

RUN_IMAGES = 300
RUN_CHUNK = 10


def _labeled_images(project, labelers, classes, count: int) -> None:
    """Images whose two label sets mostly agree, with class swaps, misses and loose boxes."""
    rng = random.Random(8)
    images = Image.objects.bulk_create(
        Image(project=project, file=f"fault/{k}.png", original_name=f"{k}.png", width=640,
              height=480, sha256=f"{k:064x}", phash=rng.randint(0, 2**62))
        for k in range(count)
    )  # fmt: skip
    annotations = Annotation.objects.bulk_create(
        Annotation(image=image, labeler=user, status="submitted", submitted_at=timezone.now())
        for image in images
        for user in labelers
    )
    boxes = []
    for k in range(len(images)):
        truth = [(rng.uniform(0, 500), rng.uniform(0, 380), rng.uniform(20, 120)) for _ in range(4)]
        for annotation in annotations[2 * k : 2 * k + 2]:
            for x, y, size in truth:
                if rng.random() < 0.1:
                    continue  # a miss
                cls = classes[0] if rng.random() > 0.1 else classes[1]
                loose = 1.4 if rng.random() < 0.1 else 1.0
                boxes.append(Box(annotation=annotation, label_class=cls, x=x, y=y,
                                 width=size * loose, height=size * 0.8))  # fmt: skip
    Box.objects.bulk_create(boxes)


def _results(project) -> dict:
    """Everything a recompute writes per image, without database ids."""
    flags = [
        (f.image_id, f.kind, f.key, f.message, f.status, tuple(sorted(u.pk for u in f.labelers.all())))
        for f in Flag.objects.filter(project=project).prefetch_related("labelers")
    ]  # fmt: skip
    return {
        "agreement": sorted(
            ImageAgreement.objects.filter(image__project=project).values_list(
                "image_id", "score", "labeler_count", "object_count", "open_flag_count"
            )
        ),
        "consensus": sorted(
            ConsensusBox.objects.filter(image__project=project).values_list(
                "image_id", "index", "label_class_id", "x", "y", "width", "height", "support"
            )
        ),
        "flags": sorted(flags),
    }


@pytest.fixture
def publish_to(settings):
    """Send this process's tasks to a queue (the test's own worker's) instead of running them
    eagerly; ``None``: eagerly again."""
    from concord.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_default_queue)

    def publish(queue: str | None) -> None:
        if queue is None:
            app.conf.task_always_eager, app.conf.task_default_queue = saved
        else:
            app.conf.task_always_eager, app.conf.task_default_queue = False, queue

    yield publish
    app.conf.task_always_eager, app.conf.task_default_queue = saved


@THROUGH_THE_BROKER
def test_a_recompute_whose_worker_is_killed_mid_run_completes_as_if_never_interrupted(
    project, classes, labeler_a, labeler_b, processes, publish_to, settings
):
    settings.AGREEMENT_CHUNK_SIZE = RUN_CHUNK
    _labeled_images(project, [labeler_a, labeler_b], classes, RUN_IMAGES)
    env = process_env(redis_url=os.environ["REDIS_URL"])
    first = processes.worker(env, concurrency=1)
    publish_to(env["CELERY_TASK_DEFAULT_QUEUE"])

    with transaction.atomic():
        run_id = recompute_start(project=project, reason="fault test").pk
    run = wait_for(
        lambda: AgreementRun.objects.filter(pk=run_id, done__gt=0).first(), 30, "a first chunk"
    )
    # The worker and its pool child at once, mid-chunk: no warm shutdown, nothing acknowledged.
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    time.sleep(1.2)  # the killed chunk's message is now older than the visibility timeout below
    run.refresh_from_db()
    killed_at = run.done
    assert run.state == "running" and 0 < killed_at < RUN_IMAGES, (run.state, killed_at)

    processes.worker({**env, "CELERY_VISIBILITY_TIMEOUT": "1"}, concurrency=1)
    wait_for(
        lambda: AgreementRun.objects.get(pk=run_id).state in ("succeeded", "failed"),
        60,
        "the run to finish on the new worker",
        interval=0.2,
    )
    run.refresh_from_db()
    assert (run.state, run.done, run.total, run.error) == ("succeeded", RUN_IMAGES, RUN_IMAGES, "")
    resumed = _results(project)
    keys = [(image, key) for image, _, key, *_ in resumed["flags"]]
    assert len(keys) == len(set(keys)), "a flag was written twice"

    # The same labels recomputed from nothing, uninterrupted (in this process, eagerly).
    publish_to(None)
    ImageAgreement.objects.filter(image__project=project).delete()
    ConsensusBox.objects.filter(image__project=project).delete()
    Flag.objects.filter(project=project).delete()
    with transaction.atomic():
        reference = recompute_start(project=project, reason="reference")
    reference.refresh_from_db()
    assert reference.state == "succeeded"
    expected = _results(project)
    assert len(expected["agreement"]) == RUN_IMAGES and expected["flags"]
    assert resumed == expected


@THROUGH_THE_BROKER
def test_a_killed_chunk_is_redone_within_minutes_with_the_default_visibility_timeout(
    project, classes, labeler_a, labeler_b, processes, publish_to, settings, tmp_path
):
    """Redis would deliver the killed chunk again only after CELERY_VISIBILITY_TIMEOUT (an hour
    by default, left so here): the sweep (Celery beat) sees its claim go stale and sends it
    again. The sweep runs every second and a chunk counts as stalled after 5 s here (240 s by
    default) to keep the test short; nothing else differs from production settings."""
    settings.AGREEMENT_CHUNK_SIZE = RUN_CHUNK
    _labeled_images(project, [labeler_a, labeler_b], classes, RUN_IMAGES)
    env = process_env(redis_url=os.environ["REDIS_URL"])
    env.pop("CELERY_VISIBILITY_TIMEOUT", None)
    first = processes.worker(env, concurrency=1)
    publish_to(env["CELERY_TASK_DEFAULT_QUEUE"])

    with transaction.atomic():
        run_id = recompute_start(project=project, reason="fault test").pk
    run = wait_for(lambda: _chunk_in_flight(run_id), 30, "a chunk in flight after a first one done")
    os.killpg(first.pid, signal.SIGKILL)
    first.wait()
    run.refresh_from_db()
    killed_at = run.done
    assert run.state == "running" and 0 < killed_at < RUN_IMAGES, (run.state, killed_at)

    sweeping = {"AGREEMENT_SWEEP_SECONDS": "1", "AGREEMENT_CHUNK_STALLED_SECONDS": "5"}
    beat = ("-B", "--schedule", str(tmp_path / "celerybeat-schedule"))
    processes.worker({**env, **sweeping}, concurrency=1, extra=beat)
    started = time.monotonic()
    try:
        wait_for(
            lambda: AgreementRun.objects.get(pk=run_id).state in ("succeeded", "failed"),
            90,
            "the run to finish without the killed chunk's redelivery",
            interval=0.2,
        )
    except BaseException:
        run.refresh_from_db()
        params = run.params
        print("DEBUG", run.state, run.done, run.heartbeat_at, timezone.now(),
              sorted(set(params.get("chunks", {})) - set(params.get("chunks_done", {}))),
              params.get("claimed"), params.get("redispatched"))  # fmt: skip
        raise
    run.refresh_from_db()
    assert (run.state, run.done, run.total, run.error) == ("succeeded", RUN_IMAGES, RUN_IMAGES, "")
    assert run.params.get("redispatched"), "finished without sending a chunk again?"
    assert time.monotonic() - started < 90
    resumed = _results(project)
    keys = [(image, key) for image, _, key, *_ in resumed["flags"]]
    assert len(keys) == len(set(keys)), "a flag was written twice"

    publish_to(None)
    ImageAgreement.objects.filter(image__project=project).delete()
    ConsensusBox.objects.filter(image__project=project).delete()
    Flag.objects.filter(project=project).delete()
    with transaction.atomic():
        reference = recompute_start(project=project, reason="reference")
    reference.refresh_from_db()
    assert reference.state == "succeeded"
    assert resumed == _results(project)


# -- (b) Redis restarted while labelers submit --------------------------------------------------


def test_submits_succeed_while_redis_is_down_and_the_sweep_assesses_them_after(
    own_redis, processes, tmp_path
):
    project, usernames, class_ids = seed_project(images=30, labelers=6, per_image=2, prefix="redis")
    tokens = {
        name: Token.objects.create(user_id=user_id).key
        for name, user_id in project.memberships.filter(role="labeler").values_list(
            "user__username", "user_id"
        )
    }
    env = process_env(redis_url=own_redis.url, AGREEMENT_SWEEP_SECONDS="1")
    processes.worker(env, concurrency=1, extra=("-B", "-s", str(tmp_path / "beat")))
    base = processes.gunicorn(env, workers=2)
    crowd = {"think": 0.0, "autosaves": 1, "tokens": tokens}
    since = timezone.now()

    before = crowd_run(base, project.pk, usernames, class_ids, duration=1.0, **crowd)
    own_redis.stop()
    during = crowd_run(base, project.pk, usernames, class_ids, duration=1.5, seed=50, **crowd)
    left_behind = assessment_lag(project.pk, since)
    own_redis.start()

    assert before.errors == [] and during.errors == []
    assert len(during.submitted) >= 3
    assert set(during.statuses) <= {("queue_next", 200), ("autosave", 200), ("submit", 200)}
    assert max(during.latencies["submit"]) < 5  # a bounded retry, not Celery's 20 s reconnect
    assert left_behind, "no image was completed while Redis was down: nothing for the sweep"
    # The sweep leaves labels changed in the last 30 s to the tasks their change enqueued;
    # rather than wait, the labels are made two minutes old.
    Annotation.objects.filter(image__project=project).update(
        updated_at=F("updated_at") - timedelta(minutes=2)
    )
    wait_for(lambda: not assessment_lag(project.pk, since), 30, "the sweep", interval=0.25)
    submitted = before.submitted + during.submitted
    assert invariant_problems(project.pk, submitted, since) == []


# -- (c) the database connection lost under a running server ------------------------------------


def test_a_lost_database_connection_answers_503_with_a_message_then_recovers(
    project, lead, processes, settings
):
    application = f"concord-fault-{project.pk}"
    # The session's auth hash is keyed by SECRET_KEY: the server shares this process's.
    env = process_env(redis_url=None, PGAPPNAME=application, SECRET_KEY=settings.SECRET_KEY)
    base = processes.gunicorn(env, workers=1)
    api = requests.Session()
    api.headers["Authorization"] = f"Token {Token.objects.create(user=lead).key}"
    page = requests.Session()  # a lead logged in to the pages (the session is in the database)
    browser = Client()
    browser.force_login(lead)
    page.cookies.set(
        settings.SESSION_COOKIE_NAME, browser.cookies[settings.SESSION_COOKIE_NAME].value
    )

    for session, url in ((api, f"{base}/api/projects/"), (page, f"{base}/")):
        assert session.get(url).status_code == 200  # the server now holds a connection
        assert _terminate_connections(application) >= 1

        lost = session.get(url)

        assert lost.status_code == 503, lost.text[:500]
        assert lost.headers["Retry-After"] == "5"
        assert "Traceback" not in lost.text and "psycopg" not in lost.text
        message = lost.json()["detail"] if "/api/" in url else lost.text
        assert "cannot reach its database" in message
        assert session.get(url).status_code == 200  # a fresh connection: back to normal


def _terminate_connections(application: str) -> int:
    """What a database restart or failover does to a server's open connections."""
    db = connection.settings_dict
    with psycopg.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
        password=db["PASSWORD"] or None, dbname=db["NAME"], autocommit=True,
    ) as admin:  # fmt: skip
        rows = admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = %s",
            [application],
        ).fetchall()
    return len(rows)


def _chunk_in_flight(run_id: int):
    """The run once a chunk is done and another is claimed but not done: a worker killed then
    dies with a chunk in its hands (killed between chunks, nothing would need sending again)."""
    run = AgreementRun.objects.filter(pk=run_id, done__gt=0).first()
    if run and set(run.params.get("claimed", {})) - set(run.params.get("chunks_done", {})):
        return run
    return None
