"""The report is current within seconds after an upload, a submit and a lead's decision.

As a new user found it before: after a new image was uploaded and labeled the report still said
"5 complete ... of 5" while the home page said 6, and "agreement with adjudicated" stayed "-"
after adjudications. Here everything goes through the API and a real Celery worker on Redis,
with no recompute: the numbers are read back from GET /api/projects/{id}/agreement/.
"""

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from tests.images import png_bytes

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]


def _client(user) -> APIClient:
    client = APIClient()
    token, _ = Token.objects.get_or_create(user=user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
    return client


def _eventually(read, check, timeout: float = 40.0):
    """Read until check(value) holds; the summary follows changes after a few seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = read()
        if check(value):
            return value
        if time.monotonic() > deadline:
            pytest.fail(f"the report did not follow within {timeout} s: {value}")
        time.sleep(0.25)


def test_upload_submit_and_decision_reach_the_report(
    project, lead, labeler_a, labeler_b, classes, settings
):
    car, truck = classes
    as_lead, as_a, as_b = _client(lead), _client(labeler_a), _client(labeler_b)
    report_url = f"/api/projects/{project.pk}/agreement/"

    def report():
        response = as_lead.get(report_url)
        assert response.status_code == 200
        return response.json()

    # An upload: total and untouched follow.
    upload = SimpleUploadedFile("street.png", png_bytes(96, 64, (10, 20, 30)), "image/png")
    response = as_lead.post(
        f"/api/projects/{project.pk}/images/", {"files": [upload]}, format="multipart"
    )
    assert response.status_code == 201, response.content
    _eventually(report, lambda r: r["progress"] == _progress(1, 0, 0, 1))

    # Both labelers label it (one says car, the other truck): complete, flagged, figures in.
    for client, cls in ((as_a, car), (as_b, truck)):
        for number in project.instruction_versions.values_list("number", flat=True):
            client.post(f"/api/projects/{project.pk}/instructions/{number}/acknowledge/")
        served = client.post(f"/api/projects/{project.pk}/queue/next/")
        assert served.status_code == 200, served.content
        annotation = served.json()["annotation"]
        box = {"x": 10, "y": 10, "width": 40, "height": 30, "label_class": cls.pk}
        saved = client.put(f"/api/annotations/{annotation}/", {"boxes": [box]}, format="json")
        assert saved.status_code == 200, saved.content
        assert client.post(f"/api/annotations/{annotation}/submit/").status_code == 200
    current = _eventually(
        report,
        lambda r: (
            r["progress"] == _progress(1, 1, 0, 0)
            and r["images_assessed"] == 1
            and r["flags"]["open"] == 1
        ),
    )
    assert current["kalpha"] is not None
    assert {row["username"]: row["images_submitted"] for row in current["labelers"]} == {
        "labeler_a": 1,
        "labeler_b": 1,
    }

    # The lead adjudicates (car): the flag is settled at once, agreement with it follows.
    flags = as_lead.get(f"/api/projects/{project.pk}/flags/").json()["results"]
    assert [f["kind"] for f in flags] == ["label_conflict"]
    decision = as_lead.patch(
        f"/api/flags/{flags[0]['id']}/",
        {
            "resolution": "adjudicated",
            "boxes": [{"x": 10, "y": 10, "width": 40, "height": 30, "label_class": car.pk}],
        },
        format="json",
    )
    assert decision.status_code == 200, decision.content
    assert report()["flags"]["open"] == 0  # in the decision's own transaction
    settled = _eventually(
        report,
        lambda r: all(row["agreement_with_adjudicated"] is not None for row in r["labelers"]),
    )
    by_name = {row["username"]: row["agreement_with_adjudicated"] for row in settled["labelers"]}
    assert by_name["labeler_a"] > by_name["labeler_b"]  # a said car, as the lead did


def _progress(total, complete, in_progress, untouched) -> dict:
    return {
        "total": total,
        "complete": complete,
        "in_progress": in_progress,
        "untouched": untouched,
    }
