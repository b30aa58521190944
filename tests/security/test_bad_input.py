"""Bad input where it enters through the API and the pages, beyond what the app tests cover.

Covered elsewhere, not repeated here: the ingest service's refusals (tests/projects/
test_image_ingest.py), box validation (tests/annotations/), the Markdown sanitiser itself
(tests/projects/test_services.py). Here: the same refusals through the upload endpoint, names
and instructions with HTML as the pages render them, and JSON bodies of the wrong shape on every
write endpoint. Each answers a clear 4xx with a JSON detail and writes nothing.
"""

import functools
import io
import json

import pytest
from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from PIL import Image as PILImage
from rest_framework.test import APIClient

from projects.models import Image
from tests.images import jpeg_bytes
from tests.security.world import world_build

SVG = b"""<?xml version="1.0"?>
<svg xmlns="http://www.w3.org/2000/svg" width="64" height="64" onload="alert(1)">
  <script>alert(2)</script><rect width="64" height="64" fill="red"/>
</svg>"""


@functools.lru_cache(maxsize=1)
def _hundred_megapixels() -> bytes:
    """A real 10000x10000 PNG (1-bit, so it is small on disk and quick to make)."""
    buffer = io.BytesIO()
    PILImage.new("1", (10_000, 10_000), 1).save(buffer, "PNG")
    return buffer.getvalue()


@pytest.fixture
def world(db):
    return world_build()


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def _counts() -> dict[str, int]:
    """Rows in every table of the project's own apps: 'nothing half-written' is checked on all."""
    labels = ("projects", "annotations", "quality")
    return {
        model._meta.label: model.objects.count()
        for label in labels
        for model in apps.get_app_config(label).get_models()
    }


# -- uploads through the API ---------------------------------------------------------------------

UPLOADS = {
    "svg": ("drawing.svg", SVG, "image/svg+xml"),
    "svg named png": ("drawing.png", SVG, "image/png"),
    "empty file": ("empty.png", b"", "image/png"),
    "100 megapixels": ("huge.png", None, "image/png"),
}


@pytest.mark.parametrize("case", UPLOADS)
def test_a_refused_upload_names_the_file_and_a_reason_and_stores_nothing(world, case):
    name, data, content_type = UPLOADS[case]
    data = _hundred_megapixels() if data is None else data
    before = _counts()
    response = _api(world.users["lead_a"]).post(
        f"/api/projects/{world.a.pk}/images/",
        {"files": [SimpleUploadedFile(name, data, content_type)]},
        format="multipart",
    )
    assert response.status_code < 500
    body = response.json()
    assert body["added"] == 0 and body["refused"] == 1, body
    (result,) = body["results"]
    assert result["name"] == name and result["status"] == "refused"
    assert len(result["reason"]) > 10, result
    assert _counts() == before
    if case == "100 megapixels":
        assert "megapixels" in result["reason"] and "limit" in result["reason"], result


def test_an_upload_where_every_file_is_refused_is_a_4xx(world):
    response = _api(world.users["lead_a"]).post(
        f"/api/projects/{world.a.pk}/images/",
        {"files": [SimpleUploadedFile("drawing.svg", SVG, "image/svg+xml")]},
        format="multipart",
    )
    assert 400 <= response.status_code < 500


def test_one_bad_file_does_not_stop_the_good_ones(world):
    before = Image.objects.filter(project=world.a).count()
    response = _api(world.users["lead_a"]).post(
        f"/api/projects/{world.a.pk}/images/",
        {
            "files": [
                SimpleUploadedFile("drawing.svg", SVG, "image/svg+xml"),
                SimpleUploadedFile("photo.jpg", jpeg_bytes(color=(1, 99, 7)), "image/jpeg"),
            ]
        },
        format="multipart",
    )
    assert response.status_code == 200
    statuses = {r["name"]: r["status"] for r in response.json()["results"]}
    assert statuses == {"drawing.svg": "refused", "photo.jpg": "added"}
    assert Image.objects.filter(project=world.a).count() == before + 1


def test_an_upload_sent_as_json_is_refused_with_a_json_detail(world):
    before = _counts()
    response = _api(world.users["lead_a"]).post(
        f"/api/projects/{world.a.pk}/images/", {"files": ["a.png"]}, format="json"
    )
    assert response.status_code == 415
    assert "Unsupported media type" in response.json()["detail"]
    assert _counts() == before


# -- names and instructions with HTML, as the pages render them ----------------------------------

NAME = 'Straße 東京 🚗 <script>alert("name")</script>'
CLASS = '<img src=x onerror=alert("class")> Ωmega'
INSTRUCTIONS = (
    "# Boxes\n\n<script>alert('md')</script>\n\n"
    "<img src=x onerror=alert('img')>\n\n[click](javascript:alert('link'))\n\n"
    "Box **every** car."
)


def test_html_in_names_and_instructions_is_rendered_inert_on_every_page(world, client):
    lead = _api(world.users["lead_a"])
    project_url = f"/api/projects/{world.a.pk}/"
    assert lead.patch(project_url, {"name": NAME}, format="json").status_code == 200
    response = lead.post(f"{project_url}classes/", {"name": CLASS, "hotkey": "3"}, format="json")
    assert response.status_code == 201, response.json()
    response = lead.post(f"{project_url}instructions/", {"body": INSTRUCTIONS}, format="json")
    assert response.status_code == 201, response.json()

    pages = {
        "home": (world.users["labeler_a"], "/"),
        "project (labeler)": (world.users["labeler_a"], f"/projects/{world.a.slug}/"),
        "project (lead)": (world.users["lead_a"], f"/projects/{world.a.slug}/"),
        "report": (world.users["lead_a"], f"/projects/{world.a.slug}/report/"),
        "flags": (world.users["lead_a"], f"/projects/{world.a.slug}/flags/"),
        "settings": (world.users["lead_a"], f"/projects/{world.a.slug}/settings/"),
    }
    for page, (user, url) in pages.items():
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, (page, response.status_code)
        html = response.content.decode()
        for payload in ("<script>alert(", "<img src=x onerror", 'href="javascript:'):
            assert payload not in html, (page, payload)
        assert "Straße 東京 🚗" in html, page
        assert "&lt;script&gt;" in html, page  # the name is shown, escaped, not dropped
        if page in {"report", "settings"}:
            assert "&lt;img src=x onerror" in html and "Ωmega" in html, page

    client.force_login(world.users["labeler_a"])
    html = client.get(f"/projects/{world.a.slug}/").content.decode()
    assert "<strong>every</strong>" in html  # the Markdown itself is rendered


# -- JSON bodies of the wrong shape on every write endpoint --------------------------------------

NOT_OBJECTS = ["[]", "[1, 2]", '"text"', "42", "null", "true", "{", '{"a": NaN}']

# (actor, method, path, a body of the right shape but wrong types)
WRITES = [
    ("lead_a", "PATCH", "/api/projects/{project_id}/", {"name": ["x"], "labelers_per_image": "two"}),
    ("lead_a", "POST", "/api/projects/{project_id}/classes/", {"name": {"a": 1}, "hotkey": [1]}),
    ("lead_a", "POST", "/api/projects/{project_id}/instructions/", {"body": ["x"], "summary": 5}),
    ("lead_a", "POST", "/api/projects/{project_id}/members/", {"username": 5, "role": ["lead"]}),
    ("lead_a", "PATCH", "/api/flags/{flag_id}/", {"status": 5, "resolution": ["x"]}),
    ("labeler_a", "PUT", "/api/annotations/{annotation_id}/", {"boxes": {"x": 1}, "active_seconds": "a lot"}),
    ("other", "POST", "/api/projects/", {"name": ["x"], "slug": 7}),
    (None, "POST", "/api/auth/token/", {"username": ["x"], "password": {"p": 1}}),
]  # fmt: skip


def test_the_token_endpoint_refuses_wrong_types_with_a_detail(db):
    before = _counts()
    body = json.dumps({"username": ["x"], "password": {"p": 1}})
    response = APIClient().generic(
        "POST", "/api/auth/token/", body, content_type="application/json"
    )
    assert response.status_code == 400
    assert response.json()["errors"]["username"]
    assert _counts() == before


def _write_url(world, path):
    return path.format(
        project_id=world.a.pk, flag_id=world.flag.pk, annotation_id=world.annotation_a.pk
    )


@pytest.mark.parametrize(("actor", "method", "path", "wrong_types"), WRITES)
def test_wrong_json_is_a_4xx_with_a_detail_and_writes_nothing(
    world, actor, method, path, wrong_types
):
    client = _api(world.users[actor]) if actor else APIClient()
    url = _write_url(world, path)
    before = _counts()
    bodies = [*NOT_OBJECTS, json.dumps(wrong_types)]
    for body in bodies:
        response = client.generic(method, url, body, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, body, response.status_code)
        detail = response.json().get("detail")
        assert isinstance(detail, str) and detail, (url, body, response.content[:300])
    assert _counts() == before
    world.annotation_a.refresh_from_db()
    assert world.annotation_a.boxes.count() == 2


BODYLESS = [
    ("labeler_a", "POST", "/api/projects/{project_id}/queue/next/"),
    ("labeler_a", "POST", "/api/annotations/{annotation_id}/submit/"),
    ("labeler_a", "POST", "/api/projects/{project_id}/instructions/1/acknowledge/"),
    ("lead_a", "POST", "/api/projects/{project_id}/agreement/recompute/"),
]


@pytest.mark.parametrize(("actor", "method", "path"), BODYLESS)
def test_endpoints_without_a_body_never_fail_on_a_strange_one(world, actor, method, path):
    client = _api(world.users[actor])
    url = _write_url(world, path)
    for body in NOT_OBJECTS:
        response = client.generic(method, url, body, content_type="application/json")
        assert response.status_code < 500, (url, body)
        assert isinstance(response.json(), dict), (url, body)
