"""Processes for the hardening tests: a Redis of their own, Celery workers, a gunicorn server.

Every process here is started by the test that needs it, on the test database, and stopped by
it: a Redis that a test stops and restarts (or a worker it kills) is never the shared one.
"""

import os
import shutil
import signal
import subprocess
import uuid

import pytest
from django.db import connection

from bench.load import free_port, start_gunicorn, start_worker, wait_http
from tests.conftest import skip_or_fail, wait_for


def tests_database_url() -> str:
    db = connection.settings_dict
    return (
        f"postgres://{db['USER']}:{db['PASSWORD'] or ''}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}"
    )


def process_env(*, redis_url: str | None, **extra) -> dict:
    """Environment of a server or worker process: the test database, production-like settings."""
    env = {
        k: v for k, v in os.environ.items() if k not in ("REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env.update(
        DATABASE_URL=tests_database_url(),
        CELERY_TASK_DEFAULT_QUEUE=f"concord-hard-{uuid.uuid4().hex[:8]}",
        DJANGO_SETTINGS_MODULE="tests.hardening.server_settings",
        DEBUG="0",
        ALLOWED_HOSTS="127.0.0.1,localhost",
        SECURE_SSL_REDIRECT="0",
        SESSION_COOKIE_SECURE="0",
        CSRF_COOKIE_SECURE="0",
        PYTHONWARNINGS="ignore:No directory at",
    )
    env.setdefault("SECRET_KEY", "hardening-tests-" + "k" * 50)
    env.update(extra)
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


class RedisServer:
    """A redis-server of the test's own on a free port, without persistence (a restart loses
    everything queued, as a crashed broker would)."""

    def __init__(self):
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL, start_new_session=True,
        )  # fmt: skip
        import redis

        client = redis.Redis.from_url(self.url)
        wait_for(lambda: _pings(client), 10, "redis-server to start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()  # no shutdown save: the queue is simply gone
            self.process.wait()
            self.process = None


def _pings(client) -> bool:
    import redis

    try:
        return client.ping()
    except redis.RedisError:
        return False


@pytest.fixture
def own_redis():
    if shutil.which("redis-server") is None:
        skip_or_fail("redis-server is not installed", service="redis")
    server = RedisServer()
    server.start()
    yield server
    server.stop()


class Processes:
    """Workers and servers started by one test; all stopped at its end, whatever happens."""

    def __init__(self):
        self.started: list[subprocess.Popen] = []

    def worker(self, env: dict, concurrency: int = 1, extra=()) -> subprocess.Popen:
        process = start_worker(concurrency, env, extra)
        self.started.append(process)
        _wait_worker_ready(env, process)
        return process

    def gunicorn(self, env: dict, workers: int = 2) -> str:
        port = free_port()
        process = start_gunicorn(port, workers, env)
        self.started.append(process)
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/accounts/login/", timeout=30)
        return base

    def stop_all(self) -> None:
        # Killed, not shut down: these tests have looked at everything they need, and a warm
        # shutdown of each process would cost seconds of the suite.
        for process in reversed(self.started):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture
def processes():
    started = Processes()
    yield started
    started.stop_all()


def _wait_worker_ready(env: dict, process: subprocess.Popen) -> None:
    """Ping the worker through its own broker (which may not be the test process's)."""
    import socket

    from celery import Celery

    probe = Celery(broker=env["REDIS_URL"], set_as_current=False)
    name = f"{env['CELERY_TASK_DEFAULT_QUEUE']}@{socket.gethostname()}"
    try:
        wait_for(
            lambda: (
                process.poll() is not None or probe.control.ping(timeout=0.3, destination=[name])
            ),
            30,
            "the Celery worker to start",
        )
    finally:
        probe.close()
    if process.poll() is not None:
        pytest.fail(f"the Celery worker exited with {process.returncode}")
