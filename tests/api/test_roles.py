"""Every endpoint of the projects and exports APIs checks the caller's role in that project.

Outsiders are told the project does not exist (404); members without the capability get 403;
anonymous callers get 401 with how to authenticate.
"""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from tests.factories import ImageFactory
from tests.images import png_bytes

ACTORS = ("lead", "engineer", "labeler_a", "outsider", "anonymous")

# (method, path, expected status per actor in ACTORS order)
READS = [
    ("get", "/api/projects/{id}/", (200, 200, 200, 404, 401)),
    ("get", "/api/projects/{id}/classes/", (200, 200, 200, 404, 401)),
    ("get", "/api/projects/{id}/instructions/", (200, 200, 200, 404, 401)),
    ("get", "/api/projects/{id}/members/", (200, 403, 403, 404, 401)),
    ("get", "/api/projects/{id}/images/", (200, 200, 403, 404, 401)),
    ("get", "/api/projects/{id}/annotations/", (200, 200, 403, 404, 401)),
    ("get", "/api/projects/{id}/export/", (200, 200, 403, 404, 401)),
    ("get", "/api/projects/{id}/export/?format=yolo", (200, 200, 403, 404, 401)),
    ("get", "/api/projects/{id}/datacard/", (200, 200, 403, 404, 401)),
    ("get", "/api/projects/{id}/datacard/?format=md", (200, 200, 403, 404, 401)),
]


def _writes(project):
    return [
        ("patch", "/api/projects/{id}/", {"description": "new"}, (200, 403, 403, 404, 401)),
        ("post", "/api/projects/{id}/classes/", {"name": "bus"}, (201, 403, 403, 404, 401)),
        ("post", "/api/projects/{id}/instructions/", {"body": "Box buses."}, (201, 403, 403, 404, 401)),
        ("post", "/api/projects/{id}/members/", {"username": "outsider", "role": "engineer"}, (201, 403, 403, 404, 401)),
    ]  # fmt: skip


@pytest.fixture
def actors(lead, engineer, labeler_a, outsider):
    return {
        "lead": lead,
        "engineer": engineer,
        "labeler_a": labeler_a,
        "outsider": outsider,
        "anonymous": None,
    }


@pytest.mark.parametrize(("method", "path", "expected"), READS)
def test_reads_answer_each_role(api, project, classes, actors, method, path, expected):
    ImageFactory(project=project)
    for actor, status in zip(ACTORS, expected, strict=True):
        client = api.as_user(actors[actor])
        response = getattr(client, method)(path.format(id=project.pk))
        if response.streaming:
            b"".join(response.streaming_content)
        assert response.status_code == status, (actor, path, response.content[:200])
        if status >= 400:
            assert response.json()["detail"], (actor, path)


@pytest.mark.parametrize("index", range(4))
def test_writes_are_for_leads_only(api, project, classes, actors, index):
    method, path, body, expected = _writes(project)[index]
    # Members without the role first: a lead's successful write must not change what they see.
    order = [3, 4, 1, 2, 0]
    for i in order:
        client = api.as_user(actors[ACTORS[i]])
        response = getattr(client, method)(path.format(id=project.pk), body, format="json")
        assert response.status_code == expected[i], (ACTORS[i], path, response.content[:300])
        assert "detail" in response.json() or response.status_code < 400


def test_image_upload_is_for_leads_only(api, project, actors):
    for index, (actor, status) in enumerate(zip(ACTORS, (201, 403, 403, 404, 401), strict=True)):
        client = api.as_user(actors[actor])
        pixels = png_bytes(color=(index * 40, 10, 10))
        upload = SimpleUploadedFile(f"{actor}.png", pixels, "image/png")
        response = client.post(
            f"/api/projects/{project.pk}/images/", {"files": [upload]}, format="multipart"
        )
        assert response.status_code == status, (actor, response.content[:300])


def test_only_staff_or_permitted_users_create_projects(api, lead, outsider):
    from tests.factories import UserFactory

    staff = UserFactory(username="staffer", is_staff=True)
    body = {"name": "Harbour", "labelers_per_image": 2}
    assert api.as_user(None).post("/api/projects/", body, format="json").status_code == 401
    refused = api.as_user(outsider).post("/api/projects/", body, format="json")
    assert refused.status_code == 403 and "permission" in refused.json()["detail"]
    created = api.as_user(staff).post("/api/projects/", body, format="json")
    assert created.status_code == 201 and created.json()["role"] == "lead"
