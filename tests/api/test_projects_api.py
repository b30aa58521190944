"""Projects API behaviour: create, change, classes, instructions, members, images, raw boxes."""

from django.core.files.uploadedfile import SimpleUploadedFile

from tests.exports.conftest import label
from tests.factories import ImageFactory, UserFactory
from tests.images import png_bytes, zip_bytes


def test_lead_renames_a_project_and_bad_thresholds_change_nothing(api, lead, project):
    client = api.as_user(lead)
    response = client.patch(f"/api/projects/{project.pk}/", {"name": "Harbour"}, format="json")
    assert response.status_code == 200 and response.json()["name"] == "Harbour"
    response = client.patch(
        f"/api/projects/{project.pk}/",
        {"description": "x", "match_iou": 0.8, "low_iou": 0.6},
        format="json",
    )
    assert response.status_code == 400
    assert "low_iou" in response.json()["detail"]
    project.refresh_from_db()
    assert (project.description, project.match_iou) == ("", 0.5)


def test_instructions_are_numbered_and_listed_newest_first(api, lead, labeler_a, project):
    client = api.as_user(lead)
    for body in ("Box cars.", "Box cars, parked ones too."):
        assert (
            client.post(
                f"/api/projects/{project.pk}/instructions/", {"body": body}, format="json"
            ).status_code
            == 201
        )
    listed = api.as_user(labeler_a).get(f"/api/projects/{project.pk}/instructions/").json()
    assert [v["number"] for v in listed["results"]] == [2, 1]
    assert listed["results"][0]["author"] == "lead"


def test_members_are_added_by_username(api, lead, project):
    UserFactory(username="dana")
    client = api.as_user(lead)
    added = client.post(
        f"/api/projects/{project.pk}/members/",
        {"username": "dana", "role": "labeler"},
        format="json",
    )
    assert added.status_code == 201 and added.json()["role"] == "labeler"
    unknown = client.post(
        f"/api/projects/{project.pk}/members/",
        {"username": "nobody", "role": "labeler"},
        format="json",
    )
    assert unknown.status_code == 400 and "No user named nobody" in unknown.json()["detail"]
    roles = {
        m["username"]: m["role"]
        for m in client.get(f"/api/projects/{project.pk}/members/").json()["results"]
    }
    assert roles == {"dana": "labeler", "lead": "lead"}


def test_upload_answers_201_when_all_added_and_200_with_reasons_otherwise(api, lead, project):
    client = api.as_user(lead)
    url = f"/api/projects/{project.pk}/images/"
    first = SimpleUploadedFile("a.png", png_bytes(color=(1, 2, 3)), "image/png")
    response = client.post(url, {"files": [first]}, format="multipart")
    assert response.status_code == 201 and response.json()["added"] == 1
    again = SimpleUploadedFile("a-again.png", png_bytes(color=(1, 2, 3)), "image/png")
    archive = SimpleUploadedFile(
        "more.zip",
        zip_bytes({"b.png": png_bytes(color=(9, 9, 9)), "notes.txt": b"hello"}),
        "application/zip",
    )
    response = client.post(url, {"files": [again, archive]}, format="multipart")
    assert response.status_code == 200
    statuses = {r["name"]: r["status"] for r in response.json()["results"]}
    assert statuses == {
        "a-again.png": "duplicate",
        "more.zip/b.png": "added",
        "more.zip/notes.txt": "refused",
    }
    assert all(r["reason"] for r in response.json()["results"] if r["status"] != "added")
    empty = client.post(url, {}, format="multipart")
    assert empty.status_code == 400 and "files" in empty.json()["detail"]


def test_image_list_shows_labeling_state_in_a_bounded_number_of_queries(
    api, engineer, project, classes, labeler_a, labeler_b, django_assert_max_num_queries
):
    images = [ImageFactory(project=project) for _ in range(6)]
    for image in images[:3]:
        label(image, labeler_a, [(classes[0], 1, 1, 5, 5)])
        label(image, labeler_b, [])
    label(images[3], labeler_a, [])
    client = api.as_user(engineer)
    with django_assert_max_num_queries(8):
        rows = client.get(f"/api/projects/{project.pk}/images/").json()["results"]
    assert [(r["label_sets"], r["complete"]) for r in rows] == [(2, True)] * 3 + [
        (1, False),
        (0, False),
        (0, False),
    ]
    incomplete = client.get(f"/api/projects/{project.pk}/images/?complete=0").json()
    assert incomplete["count"] == 3


def test_raw_annotations_list_every_labelers_boxes_with_filters(
    api, engineer, project, classes, labeler_a, labeler_b, django_assert_max_num_queries
):
    images = [ImageFactory(project=project) for _ in range(5)]
    for image in images:
        label(image, labeler_a, [(classes[0], 1, 1, 5, 5), (classes[1], 9, 9, 5, 5)])
        label(image, labeler_b, [(classes[0], 2, 1, 5, 5)])
    client = api.as_user(engineer)
    with django_assert_max_num_queries(8):
        body = client.get(f"/api/projects/{project.pk}/annotations/").json()
    assert body["count"] == 10
    assert {len(a["boxes"]) for a in body["results"]} == {1, 2}
    one = client.get(
        f"/api/projects/{project.pk}/annotations/?image={images[0].pk}&labeler=labeler_b"
    ).json()
    assert [(a["labeler"], len(a["boxes"])) for a in one["results"]] == [("labeler_b", 1)]
    bad = client.get(f"/api/projects/{project.pk}/annotations/?image=first")
    assert bad.status_code == 400 and "image" in bad.json()["detail"]
