"""Shared fixtures: named actors for permission tests, media in a temporary folder, services.

Tests that need a service by nature say so with a marker and its reason:
`@pytest.mark.postgresql(reason=...)`, `@pytest.mark.redis(reason=...)`; `worker` needs both (a
real Celery worker shares the test database through Redis). Without the service such a test is
skipped, and the skip names the reason (pytest -rs lists them).

REQUIRE_SERVICES turns a missing service from a skip into a failure, so CI can never pass by
skipping what it was meant to test: `1` for every service (PostgreSQL, Redis, Chromium), or a
comma-separated list of them. CI's PostgreSQL pass sets `1`; its SQLite pass (`make test-sqlite`,
the embedded default: no DATABASE_URL, no REDIS_URL) sets `chromium`, so there the browser tests
must run and the PostgreSQL-only and Redis-only tests are skipped with their reasons.
"""

import os
import time

import pytest

from tests.factories import LabelClassFactory, MembershipFactory, ProjectFactory, UserFactory

SERVICES = ("postgresql", "redis", "chromium")


def _required_services(raw: str) -> frozenset[str]:
    raw = raw.strip().lower()
    if raw in ("", "0"):
        return frozenset()
    if raw == "1":
        return frozenset(SERVICES)
    names = frozenset(name.strip() for name in raw.split(",") if name.strip())
    if names - set(SERVICES):
        raise pytest.UsageError(
            f"REQUIRE_SERVICES must be 1 or a comma-separated list of {', '.join(SERVICES)}; "
            f"got {raw!r}"
        )
    return names


REQUIRED_SERVICES = _required_services(os.environ.get("REQUIRE_SERVICES", ""))


def wait_for(condition, timeout: float = 60, what: str = "the worker", interval: float = 0.05):
    """Poll ``condition`` until it is true (returned) or ``timeout`` seconds pass (a failure
    naming ``what`` was awaited): a worker, a server, a sweep."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout} s waiting for {what}")
        time.sleep(interval)


def skip_or_fail(reason: str, *, service: str):
    """Skip for want of ``service``, or fail when REQUIRE_SERVICES requires it."""
    assert service in SERVICES, service
    if service in REQUIRED_SERVICES:
        pytest.fail(f"{reason} (REQUIRE_SERVICES requires {service}: a failure, not a skip)")
    pytest.skip(reason)


def _marker_reason(item, marker) -> str:
    reason = marker.kwargs.get("reason") or (marker.args[0] if marker.args else "")
    if not reason:
        pytest.fail(f"{item.nodeid}: @pytest.mark.{marker.name} needs a reason")
    return reason


def pytest_runtest_setup(item):
    """Skip (or fail, see REQUIRE_SERVICES) a test whose service marker's service is absent."""
    from django.conf import settings
    from django.db import connection

    if item.get_closest_marker("worker"):
        reason = "a real Celery worker shares the test database through Redis"
        if connection.vendor != "postgresql":
            skip_or_fail(f"PostgreSQL only: {reason}", service="postgresql")
        if not settings.REDIS_URL:
            skip_or_fail(f"needs REDIS_URL: {reason}", service="redis")
    marker = item.get_closest_marker("postgresql")
    if marker:
        reason = _marker_reason(item, marker)
        if connection.vendor != "postgresql":
            skip_or_fail(f"PostgreSQL only: {reason}", service="postgresql")
    marker = item.get_closest_marker("redis")
    if marker:
        reason = _marker_reason(item, marker)
        if not settings.REDIS_URL:
            skip_or_fail(f"needs REDIS_URL: {reason}", service="redis")


@pytest.fixture(autouse=True)
def _media_in_tmp(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # Tests make many users; PBKDF2 would spend most of the suite's time hashing passwords.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def empty_cache():
    """Django's cache without keys before and after the test (login counts, summary flags)."""
    from tests.cache import cache_empty

    cache_empty()
    yield
    cache_empty()


@pytest.fixture
def project(db, lead):
    project = ProjectFactory(created_by=lead, labelers_per_image=2)
    MembershipFactory(project=project, user=lead, role="lead")
    return project


@pytest.fixture
def classes(project):
    return [
        LabelClassFactory(project=project, name="car", hotkey="1", order=0),
        LabelClassFactory(project=project, name="truck", hotkey="2", order=1),
    ]


@pytest.fixture
def lead(db):
    return UserFactory(username="lead")


@pytest.fixture
def labeler_a(project):
    user = UserFactory(username="labeler_a")
    MembershipFactory(project=project, user=user, role="labeler")
    return user


@pytest.fixture
def labeler_b(project):
    user = UserFactory(username="labeler_b")
    MembershipFactory(project=project, user=user, role="labeler")
    return user


@pytest.fixture
def engineer(project):
    user = UserFactory(username="engineer")
    MembershipFactory(project=project, user=user, role="engineer")
    return user


@pytest.fixture
def outsider(db):
    return UserFactory(username="outsider")


@pytest.fixture
def other_project_labeler(db):
    """A labeler of another project: a member somewhere, an outsider here."""
    other = ProjectFactory()
    user = UserFactory(username="other_labeler")
    MembershipFactory(project=other, user=user, role="labeler")
    return user


# Celery: eager for every test, except tests marked `worker`, which get a real worker on Redis.
@pytest.fixture(autouse=True)
def _celery_mode(request):
    """Tasks run in-process unless the test is marked `worker`.

    CELERY_TASK_ALWAYS_EAGER is read once when the app is configured, so the app's conf is set
    directly and restored afterwards.
    """
    from concord.celery import app

    saved = (app.conf.task_always_eager, app.conf.task_eager_propagates)
    if request.node.get_closest_marker("worker"):
        s3 = request.node.get_closest_marker("s3")
        queue = request.getfixturevalue("s3_celery_worker" if s3 else "celery_worker")
        saved_queue = app.conf.task_default_queue
        app.conf.task_always_eager = False
        app.conf.task_default_queue = queue
        yield
        _worker_drain(app, f"{queue}@{_host()}")
        app.conf.task_default_queue = saved_queue
    else:
        app.conf.task_always_eager = True
        app.conf.task_eager_propagates = True
        yield
    app.conf.task_always_eager, app.conf.task_eager_propagates = saved


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, django_db_blocker):
    """A `celery -A concord worker` subprocess on REDIS_URL, using the test database.

    It consumes a queue of its own, so concurrent test sessions never take each other's tasks.
    Tests that use it need django_db(transaction=True): the worker sees committed rows only.
    Returns the queue name.
    """
    yield from _worker_running({})


@pytest.fixture(scope="session")
def s3_celery_worker(django_db_setup, django_db_blocker, s3_server):
    """celery_worker with its media in the S3 server's bucket (MEDIA_STORAGE=s3): a worker on
    another machine, sharing no disk with the tests' web app."""
    from tests.s3_server import s3_environment

    yield from _worker_running({**s3_environment(s3_server), "REGISTER_CHUNK_SIZE": "4"})


def _worker_running(extra_env: dict[str, str]):
    import signal
    import subprocess
    import sys
    import time
    import uuid
    from pathlib import Path

    from django.db import connection

    if not os.environ.get("REDIS_URL"):
        skip_or_fail("REDIS_URL is not set: a real Celery worker needs Redis", service="redis")
    if connection.vendor != "postgresql":
        skip_or_fail(
            "a real Celery worker needs PostgreSQL (DATABASE_URL); SQLite test DBs are private",
            service="postgresql",
        )
    db = connection.settings_dict
    database_url = (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )
    queue = f"concord-test-{uuid.uuid4().hex[:8]}"
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "CELERY_TASK_DEFAULT_QUEUE": queue,
        **extra_env,
    }
    hostname = f"{queue}@%h"
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "concord", "worker", "-Q", queue, "-n", hostname,
         "-c", "2", "-l", "warning", "--without-gossip", "--without-mingle", "--without-heartbeat"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        start_new_session=True,
    )  # fmt: skip
    from concord.celery import app

    try:
        deadline = time.monotonic() + 30
        while not app.control.ping(timeout=0.5, destination=[hostname.replace("%h", _host())]):
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"the Celery worker did not start (exit code {process.poll()})")
        yield queue
    finally:
        process.terminate()  # the main process stops its pool children (warm shutdown)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _worker_drain(app, worker: str, timeout: float = 20.0) -> None:
    """After a worker test: drop the tasks it scheduled for later (the debounced summary) and
    wait for the running ones, so that none runs while the next test empties the tables (a
    summary reading them during that TRUNCATE deadlocked it)."""
    import time

    inspect = app.control.inspect(destination=[worker], timeout=0.5)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for tasks in (inspect.scheduled() or {}).values():
            for task in tasks:
                app.control.revoke(task["request"]["id"], destination=[worker])
        busy = [
            t for found in (inspect.active(), inspect.reserved()) for t in (found or {}).values()
        ]
        if not any(busy):
            return
        time.sleep(0.2)


def _host() -> str:
    import socket

    return socket.gethostname()


# Object storage: tests marked `s3` (a separate set: `pytest -m s3`) keep media in a bucket of a
# real S3-protocol server (tests/s3_server.py), configured as a deployment would be.
@pytest.fixture(scope="session")
def s3_server():
    """A moto S3 server on 127.0.0.1 with the test bucket; yields its endpoint URL."""
    try:
        import moto.server  # noqa: F401
    except ImportError:
        message = "moto[server] is not installed (requirements-dev.txt)"
        if REQUIRED_SERVICES:  # CI: the s3 set must run, not skip
            pytest.fail(message)
        pytest.skip(message)
    from tests.s3_server import BUCKET, moto_server, s3_client

    with moto_server() as endpoint:
        s3_client(endpoint).create_bucket(Bucket=BUCKET)
        yield endpoint


@pytest.fixture(autouse=True)
def _s3_mode(request):
    if request.node.get_closest_marker("s3"):
        request.getfixturevalue("s3_media")


@pytest.fixture
def s3_media(s3_server, settings, monkeypatch):
    """Media in the test bucket, emptied first, for this test; yields a boto3 client on it."""
    from concord.env import env_media_storage
    from tests.s3_server import bucket_empty, s3_client, s3_environment

    for name, value in s3_environment(s3_server).items():
        monkeypatch.setenv(name, value)
    storage = env_media_storage(url_seconds=settings.AWS_QUERYSTRING_EXPIRE)
    settings.STORAGES = {**settings.STORAGES, "default": storage}
    client = s3_client(s3_server)
    bucket_empty(client)
    return client
