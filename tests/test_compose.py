"""docker-compose.yml does what the README says (Docker cannot run here: read and exercised with
the same settings in a process of its own)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _environment(service: str) -> dict[str, str]:
    """A service's environment with ${NAME:-default} taken at its default (nothing set)."""
    raw = _compose()["services"][service]["environment"]
    return {name: re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", str(value)) for name, value in raw.items()}


PROBE = """
import json, django
django.setup()
from django.conf import settings
from django.test import Client
response = Client(HTTP_HOST="127.0.0.1:8000").get("/health/")
from django.core.files.storage import default_storage
print(json.dumps({"status": response.status_code, "location": response.get("Location"),
                  "session_secure": settings.SESSION_COOKIE_SECURE,
                  "csrf_secure": settings.CSRF_COOKIE_SECURE, "hsts": settings.SECURE_HSTS_SECONDS,
                  "media_url": default_storage.url("projects/1/a.jpg"),
                  "media_class": type(default_storage._wrapped).__name__,
                  "csp": response["Content-Security-Policy"]}))
"""


def test_plain_http_on_127_0_0_1_works_with_the_compose_settings(tmp_path):
    env = _environment("web")
    assert env["DEBUG"] == "0"
    # The containers' services are not here: the embedded database stands in for them.
    for name in ("DATABASE_URL", "REDIS_URL"):
        env.pop(name)
    env.update(
        MEDIA_ROOT=str(tmp_path),
        PATH="/usr/bin:/bin",
        DJANGO_SETTINGS_MODULE="concord.settings",
        PYTHONWARNINGS="ignore",
    )
    env["DATABASE_URL"] = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    result = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    probe = json.loads(result.stdout.strip().splitlines()[-1])
    assert probe["status"] == 200, probe  # not a 301 to https://
    # Over plain HTTP a Secure cookie is never sent back: login would fail its CSRF check.
    assert (probe["session_secure"], probe["csrf_secure"], probe["hsts"]) == (False, False, 0)
    # Media in MinIO's bucket; the browser is sent to MinIO as it reaches it (127.0.0.1:9000), not
    # as the containers do (minio:9000), with a signed URL; the page's CSP lets those images in.
    assert probe["media_class"] == "MediaS3Storage"
    assert probe["media_url"].startswith("http://127.0.0.1:9000/concord-media/projects/1/a.jpg?")
    assert "X-Amz-Signature=" in probe["media_url"]
    assert "img-src 'self' http://127.0.0.1:9000" in probe["csp"]


def test_web_and_worker_share_no_disk_and_keep_media_in_minio():
    services = _compose()["services"]
    for name in ("web", "worker", "beat"):
        assert not services[name].get("volumes"), f"{name} mounts {services[name]['volumes']}"
        env = _environment(name)
        assert env["MEDIA_STORAGE"] == "s3"
        assert env["AWS_S3_ENDPOINT_URL"] == "http://minio:9000"
        assert services[name]["depends_on"]["minio-bucket"]["condition"] == (
            "service_completed_successfully"
        )
    # MinIO keeps the objects; a one-shot service creates the bucket the app names, private.
    assert "objects:/data" in services["minio"]["volumes"]
    assert services["minio-bucket"]["depends_on"]["minio"]["condition"] == "service_healthy"
    setup = services["minio-bucket"]["entrypoint"]
    bucket = _environment("web")["AWS_STORAGE_BUCKET_NAME"]
    assert f"mc mb --ignore-existing local/{bucket}" in setup
    assert f"mc anonymous set none local/{bucket}" in setup
    # The app's credentials are MinIO's, with the same defaults.
    minio = _environment("minio")
    web = _environment("web")
    assert (web["AWS_ACCESS_KEY_ID"], web["AWS_SECRET_ACCESS_KEY"]) == (
        minio["MINIO_ROOT_USER"],
        minio["MINIO_ROOT_PASSWORD"],
    )


def test_compose_runs_beat_once_beside_the_worker():
    services = _compose()["services"]
    commands = {name: str(service.get("command", "")) for name, service in services.items()}
    beats = [name for name, command in commands.items() if " beat" in command or " -B" in command]
    assert beats == ["beat"], commands
    assert "worker" in commands["worker"]


def test_readme_docker_section_matches_compose():
    readme = (ROOT / "README.md").read_text()
    docker = readme.split("## Docker", 1)[1].split("\n## ", 1)[0]
    for service in _compose()["services"]:
        assert service in docker, service
    assert "TLS" in docker
