"""The gold page, the image page's "make gold" form, and what the report and project page say."""

import pytest
from django.utils import timezone

from annotations.models import Annotation, Box
from gold.models import GoldImage, GoldPolicy, LabelerGold
from tests.factories import AnnotationFactory, ImageFactory
from tests.gold.conftest import answer, boxes_payload, make_gold, policy, take

pytestmark = pytest.mark.django_db

WRONG = [(1, (10, 10, 100, 80)), (0, (300, 200, 80, 60))]


@pytest.fixture
def paused_a(project, classes, acknowledged, images, lead, api_a, labeler_a):
    """labeler_a failed a qualification set of one."""
    make_gold(project, images[0], lead, classes)
    policy(project, qualification_size=1, rate=0.1)
    body = take(api_a, project).json()
    answer(api_a, body["annotation"], boxes_payload(classes, WRONG))
    assert LabelerGold.objects.get(labeler=labeler_a).state == "paused"
    return labeler_a


def test_the_lead_sees_who_is_paused_and_resumes_them(client, project, lead, paused_a):
    client.force_login(lead)
    page = client.get(f"/projects/{project.slug}/gold/").content.decode()
    assert "1 labeler paused by the gold checks" in page
    assert "did not pass the qualification" in page
    assert f'id="resume-{paused_a.pk}"' in page
    home = client.get(f"/projects/{project.slug}/").content.decode()
    assert 'id="gold-paused-notice"' in home
    response = client.post(
        f"/projects/{project.slug}/gold/", {"action": "resume", "labeler": paused_a.pk}
    )
    assert response.status_code == 302
    assert LabelerGold.objects.get(labeler=paused_a).state == "active"
    assert (
        'id="gold-paused-notice"' not in client.get(f"/projects/{project.slug}/").content.decode()
    )


def test_the_report_shows_gold_scores_next_to_peer_agreement(client, project, lead, paused_a):
    client.force_login(lead)
    page = client.get(f"/projects/{project.slug}/report/").content.decode()
    assert "<th>Agreement with peers</th><th" in page and ">Gold score</th>" in page
    assert "after 1 gold image" in page and "gold-paused" in page


def test_the_policy_form_saves_percentages_and_refuses_nonsense(client, project, lead):
    client.force_login(lead)
    fields = {
        "action": "policy",
        "rate": "12",
        "qualification_size": "4",
        "qualify_threshold": "85",
        "threshold": "90",
        "min_images": "10",
        "confidence": "95",
        "feedback": "on",
        "feedback_limit": "3",
    }
    client.post(f"/projects/{project.slug}/gold/", fields)
    saved = GoldPolicy.objects.get(project=project)
    assert (saved.rate, saved.qualification_size, saved.confidence) == (0.12, 4, 0.95)
    assert saved.feedback and saved.feedback_limit == 3
    response = client.post(f"/projects/{project.slug}/gold/", {**fields, "rate": "80"}, follow=True)
    assert "Not more than 0.5" in response.content.decode() or "rate" in response.content.decode()
    assert GoldPolicy.objects.get(project=project).rate == 0.12
    response = client.post(
        f"/projects/{project.slug}/gold/", {**fields, "min_images": "x"}, follow=True
    )
    assert "whole number" in response.content.decode()


def test_an_image_is_made_gold_from_its_page_and_retired_from_the_gold_page(
    client, project, classes, lead
):
    image = ImageFactory(project=project)
    adjudication = AnnotationFactory(
        image=image,
        labeler=lead,
        kind=Annotation.Kind.ADJUDICATION,
        status=Annotation.Status.SUBMITTED,
        submitted_at=timezone.now(),
    )
    Box.objects.create(
        annotation=adjudication, label_class=classes[0], x=1, y=2, width=30, height=40
    )
    client.force_login(lead)
    detail = client.get(f"/projects/{project.slug}/images/{image.pk}/").content.decode()
    assert 'id="gold-from-adjudication"' in detail
    response = client.post(
        f"/projects/{project.slug}/images/{image.pk}/gold/", {"source": "consensus"}, follow=True
    )
    assert "no consensus yet" in response.content.decode()
    client.post(f"/projects/{project.slug}/images/{image.pk}/gold/", {"source": "adjudication"})
    gold = GoldImage.objects.get(image=image)
    assert gold.boxes.count() == 1
    page = client.get(f"/projects/{project.slug}/gold/").content.decode()
    assert image.original_name in page and "from the the lead" not in page
    client.post(f"/projects/{project.slug}/gold/", {"action": "retire", "gold": gold.pk})
    gold.refresh_from_db()
    assert not gold.active


def test_engineers_read_the_gold_page_and_labelers_never_see_it(
    client, project, classes, lead, engineer, labeler_a
):
    make_gold(project, ImageFactory(project=project), lead, classes)
    client.force_login(engineer)
    page = client.get(f"/projects/{project.slug}/gold/")
    assert page.status_code == 200 and 'id="save-policy"' not in page.content.decode()
    assert client.post(f"/projects/{project.slug}/gold/", {"action": "policy"}).status_code == 403
    client.force_login(labeler_a)
    assert client.get(f"/projects/{project.slug}/gold/").status_code == 403
    assert "gold" not in client.get(f"/projects/{project.slug}/").content.decode().lower()
