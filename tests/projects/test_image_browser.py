"""The image browser: states, filters and sorts, a constant number of queries per page, cached
permission-checked thumbnails, one image's boxes, and deleting an image with what goes with it."""

import pytest
from django.core.files.storage import default_storage
from django.utils import timezone

from annotations.models import Annotation, Box
from projects.models import Image
from projects.thumbnails import thumbnail_name
from quality.models import ConsensusBox, Flag, ImageAgreement
from quality.services.assessment import images_assess
from tests.factories import AnnotationFactory, ImageFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _list(project):
    return f"/projects/{project.slug}/images/"


def _submit(image, labeler, boxes, status=Annotation.Status.SUBMITTED):
    annotation = AnnotationFactory(
        image=image,
        labeler=labeler,
        status=status,
        submitted_at=timezone.now() if status == Annotation.Status.SUBMITTED else None,
    )
    Box.objects.bulk_create(
        Box(annotation=annotation, label_class=c, x=x, y=y, width=w, height=h)
        for c, (x, y, w, h) in boxes
    )
    return annotation


@pytest.fixture
def labelers(project):
    users = [UserFactory(username=name) for name in ("ann", "bob")]
    for user in users:
        MembershipFactory(project=project, user=user, role="labeler")
    return users


@pytest.fixture
def images(project, classes, labelers):
    """untouched, in progress (one of two), in progress (second is a draft), complete with a
    class conflict (assessed, open flag), complete and identical (assessed, no flag)."""
    car, truck = classes
    ann, bob = labelers
    made = [ImageFactory(project=project, original_name=f"img_{n}.png") for n in range(5)]
    _submit(made[1], ann, [(car, (10, 10, 40, 30))])
    _submit(made[2], ann, [(car, (10, 10, 40, 30))])
    _submit(made[2], bob, [], status=Annotation.Status.DRAFT)
    _submit(made[3], ann, [(car, (10, 10, 40, 30))])
    _submit(made[3], bob, [(truck, (11, 10, 40, 30))])
    _submit(made[4], ann, [(car, (10, 10, 40, 30))])
    _submit(made[4], bob, [(car, (10, 10, 40, 30))])
    images_assess(image_ids=[made[3].pk, made[4].pk])
    for image in made:
        image.refresh_from_db()
    return made


def _ids(response):
    return [image.pk for image, _state, _label in response.context["rows"]]


def test_leads_and_engineers_browse_labelers_and_outsiders_do_not(
    client, project, lead, engineer, labeler_a, outsider, images
):
    urls = [
        _list(project),
        f"{_list(project)}{images[3].pk}/",
        f"{_list(project)}{images[3].pk}/thumb/",
    ]
    for user, code in ((lead, 200), (engineer, 200), (labeler_a, 403), (outsider, 404)):
        client.force_login(user)
        for url in urls:
            assert client.get(url).status_code == code, (user, url)


def test_states_and_filters(client, project, lead, images):
    client.force_login(lead)
    response = client.get(_list(project))
    states = [state for _image, state, _label in response.context["rows"]]
    assert states == ["untouched", "in_progress", "in_progress", "complete", "complete"]
    assert _ids(client.get(_list(project) + "?state=untouched")) == [images[0].pk]
    assert _ids(client.get(_list(project) + "?state=in_progress")) == [
        images[1].pk,
        images[2].pk,
    ]
    assert _ids(client.get(_list(project) + "?state=complete")) == [images[3].pk, images[4].pk]
    assert _ids(client.get(_list(project) + "?flags=open")) == [images[3].pk]
    assert _ids(client.get(_list(project) + "?agreement=none")) == [i.pk for i in images[:3]]
    assert _ids(client.get(_list(project) + "?agreement=high")) == [images[4].pk]
    assert _ids(client.get(_list(project) + "?q=img_2")) == [images[2].pk]
    worst = _ids(client.get(_list(project) + "?sort=worst"))
    assert worst[:2] == [images[3].pk, images[4].pk]  # assessed first, lowest score first
    assert _ids(client.get(_list(project) + "?sort=flags"))[0] == images[3].pk
    page = client.get(_list(project) + "?state=bogus&sort=bogus&page=x")
    assert page.status_code == 200 and len(_ids(page)) == 5


def test_a_page_of_images_costs_the_same_queries_however_many_images(
    client, project, lead, images, django_assert_max_num_queries
):
    client.force_login(lead)
    client.get(_list(project))  # session, user and project warm nothing: count from here
    with django_assert_max_num_queries(6) as few:
        client.get(_list(project))
    for n in range(40):
        image = ImageFactory(project=project, original_name=f"more_{n}.png")
        ImageAgreement.objects.create(
            image=image,
            score=0.5,
            labeler_count=2,
            object_count=1,
            open_flag_count=1,
            engine_version="x",
            input_digest="x",
            computed_at=timezone.now(),
        )
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(_list(project))
    assert len(response.context["rows"]) == 45


def test_thumbnails_are_small_jpegs_made_once(client, project, lead, images, settings):
    client.force_login(lead)
    image = images[0]
    response = client.get(f"{_list(project)}{image.pk}/thumb/")
    assert response["Content-Type"] == "image/jpeg"
    body = b"".join(response.streaming_content)
    assert body[:2] == b"\xff\xd8"
    name = thumbnail_name(project_id=project.pk, sha256=image.sha256)
    assert default_storage.exists(name)
    made_at = default_storage.get_modified_time(name)
    again = client.get(f"{_list(project)}{image.pk}/thumb/")
    assert b"".join(again.streaming_content) == body
    assert default_storage.get_modified_time(name) == made_at
    assert "private" in again["Cache-Control"]


def test_an_image_of_another_project_is_not_found(client, project, lead, images):
    foreign = ImageFactory()
    client.force_login(lead)
    for suffix in ("", "thumb/", "delete/"):
        assert client.get(f"{_list(project)}{foreign.pk}/{suffix}").status_code == 404


def test_an_image_page_draws_every_labelers_boxes(client, project, lead, images):
    client.force_login(lead)
    response = client.get(f"{_list(project)}{images[3].pk}/")
    data = response.context["data"]
    assert sorted(labeler["username"] for labeler in data["labelers"]) == ["ann", "bob"]
    assert "label_conflict" in {f.kind for f in response.context["flags"]}


def test_delete_spells_out_what_goes_and_only_leads_delete(
    client, project, lead, engineer, images, django_capture_on_commit_callbacks
):
    image = images[3]
    url = f"{_list(project)}{image.pk}/delete/"
    client.force_login(engineer)
    assert client.get(url).status_code == 403
    assert client.post(url).status_code == 403
    client.force_login(lead)
    page = client.get(url)
    effects = page.context["effects"]
    assert (effects["label_sets"], effects["boxes"], effects["flags"]) == (2, 2, 1)
    assert effects["assessed"] and effects["consensus_boxes"] >= 1
    text = page.content.decode()
    assert "<strong>2</strong> labelers' label sets" in text
    assert "<strong>1</strong> flag " in text
    client.get(f"{_list(project)}{image.pk}/thumb/")
    file_name = image.file.name
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"back": "state=complete"})
    assert response.status_code == 302 and response["Location"].endswith("?state=complete")
    assert not Image.objects.filter(pk=image.pk).exists()
    assert not Annotation.objects.filter(image_id=image.pk).exists()
    assert not Box.objects.filter(annotation__image_id=image.pk).exists()
    assert not Flag.objects.filter(image_id=image.pk).exists()
    assert not ConsensusBox.objects.filter(image_id=image.pk).exists()
    assert not default_storage.exists(file_name)
    assert not default_storage.exists(thumbnail_name(project_id=project.pk, sha256=image.sha256))
