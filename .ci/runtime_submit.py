"""CI smoke test of the runtime install (run by .ci/runtime_check with the runtime venv's python).

A lead creates a project through the API, two labelers box one image differently and submit;
the Celery worker started from the same runtime venv must turn that into a label_conflict flag.
Only the packages of requirements.txt are importable here: no pytest, no factories.
"""

import io
import os
import sys
import time
import uuid
from pathlib import Path

import django

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "concord.settings")
django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Permission  # noqa: E402
from django.test import Client  # noqa: E402
from PIL import Image  # noqa: E402

FLAG_TIMEOUT_SECONDS = 60


def client_for(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def expect(response, status: int):
    if response.status_code != status:
        sys.exit(
            f"runtime smoke: {response.request['PATH_INFO']} answered "
            f"{response.status_code}, expected {status}: {response.content[:500]!r}"
        )
    return response.json() if response.content else None


def png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (120, 160, 200)).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "street.png"
    return buffer


def main() -> None:
    users = get_user_model().objects
    suffix = uuid.uuid4().hex[:6]
    lead = users.create_user(f"lead-{suffix}", password=None)
    lead.user_permissions.add(Permission.objects.get(codename="add_project"))
    labelers = [users.create_user(f"{name}-{suffix}", password=None) for name in ("ann", "bob")]

    as_lead = client_for(lead)
    project = expect(
        as_lead.post(
            "/api/projects/",
            {
                "name": f"Runtime smoke {suffix}",
                "labelers_per_image": 2,
                "instructions": "Box cars.",
            },
            content_type="application/json",
        ),
        201,
    )
    base = f"/api/projects/{project['id']}"
    car = expect(
        as_lead.post(f"{base}/classes/", {"name": "car"}, content_type="application/json"), 201
    )
    truck = expect(
        as_lead.post(f"{base}/classes/", {"name": "truck"}, content_type="application/json"), 201
    )
    for labeler in labelers:
        expect(
            as_lead.post(
                f"{base}/members/",
                {"username": labeler.username, "role": "labeler"},
                content_type="application/json",
            ),
            201,
        )
    upload = expect(as_lead.post(f"{base}/images/", {"files": [png()]}), 201)
    assert upload["added"] == 1, upload

    for labeler, label_class in zip(labelers, (car, truck), strict=True):
        as_labeler = client_for(labeler)
        expect(as_labeler.post(f"{base}/instructions/1/acknowledge/"), 200)
        annotation = expect(as_labeler.post(f"{base}/queue/next/"), 200)["annotation"]
        box = {"x": 5, "y": 5, "width": 40, "height": 30, "label_class": label_class["id"]}
        expect(
            as_labeler.put(
                f"/api/annotations/{annotation}/", {"boxes": [box]}, content_type="application/json"
            ),
            200,
        )
        expect(as_labeler.post(f"/api/annotations/{annotation}/submit/"), 200)

    deadline = time.monotonic() + FLAG_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        flags = expect(as_lead.get(f"{base}/flags/"), 200)
        kinds = [flag["kind"] for flag in flags.get("results", flags)]
        if "label_conflict" in kinds:
            print(
                f"runtime smoke: the worker flagged {kinds} "
                f"{FLAG_TIMEOUT_SECONDS - (deadline - time.monotonic()):.1f} s after the submit"
            )
            return
        time.sleep(0.5)
    sys.exit(
        f"runtime smoke: no label_conflict flag within {FLAG_TIMEOUT_SECONDS} s of the "
        "submit: the runtime install cannot enqueue or run the assessment"
    )


if __name__ == "__main__":
    main()
