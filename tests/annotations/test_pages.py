"""The labeler's pages: project page (instructions first), labeling page, my work."""

import pytest
from django.utils import timezone

from projects.services import instruction_acknowledge, instruction_version_publish
from tests.factories import AnnotationFactory, BoxFactory, ImageFactory

pytestmark = pytest.mark.django_db


def test_project_page_renders_sanitised_instructions_and_asks_a_labeler_to_acknowledge(
    client, project, lead, labeler_a, classes
):
    instruction_version_publish(
        project=project, author=lead, body="# Cars\n\nBox **every** car.<script>alert(1)</script>"
    )
    client.force_login(labeler_a)
    html = client.get(project.get_absolute_url()).content.decode()
    assert "<strong>every</strong>" in html
    assert "<script>alert(1)" not in html
    assert 'id="acknowledge"' in html
    assert 'id="start-labeling"' not in html


def test_project_page_shows_what_changed_since_the_version_the_labeler_read(
    client, project, lead, labeler_a
):
    v1 = instruction_version_publish(project=project, author=lead, body="Box cars.")
    instruction_acknowledge(user=labeler_a, version=v1)
    instruction_version_publish(
        project=project, author=lead, body="Box cars and *vans*.", summary="Vans count as cars."
    )
    instruction_version_publish(
        project=project, author=lead, body="Box cars, vans, buses.", summary="Buses too."
    )
    client.force_login(labeler_a)
    html = client.get(project.get_absolute_url()).content.decode()
    assert "What changed since version 1" in html
    assert "Vans count as cars." in html and "Buses too." in html
    assert "<em>vans</em>" in html
    assert "I have read version 3" in html


def test_project_page_offers_start_labeling_once_acknowledged(client, project, lead, labeler_a):
    v1 = instruction_version_publish(project=project, author=lead, body="Box cars.")
    instruction_acknowledge(user=labeler_a, version=v1)
    client.force_login(labeler_a)
    html = client.get(project.get_absolute_url()).content.decode()
    assert f'href="/projects/{project.slug}/label/"' in html
    assert "What changed" not in html


def test_the_lead_sees_instructions_but_no_labeling_buttons(client, project, lead):
    instruction_version_publish(project=project, author=lead, body="Box cars.")
    client.force_login(lead)
    html = client.get(project.get_absolute_url()).content.decode()
    assert "Box cars." in html
    assert 'id="acknowledge"' not in html and 'id="start-labeling"' not in html


def test_label_page_sends_a_labeler_to_the_instructions_until_acknowledged(
    client, project, instructions, labeler_a
):
    client.force_login(labeler_a)
    response = client.get(f"/projects/{project.slug}/label/")
    assert response.status_code == 302
    assert response["Location"] == project.get_absolute_url()
    instruction_acknowledge(user=labeler_a, version=instructions)
    response = client.get(f"/projects/{project.slug}/label/")
    assert response.status_code == 200
    assert b"label-config" in response.content


def test_label_page_is_for_labelers_only(client, project, lead, outsider):
    client.force_login(lead)
    assert client.get(f"/projects/{project.slug}/label/").status_code == 403
    client.force_login(outsider)
    assert client.get(f"/projects/{project.slug}/label/").status_code == 404


def test_reopening_someone_elses_annotation_is_404(
    client, project, acknowledged, labeler_a, labeler_b
):
    theirs = AnnotationFactory(image=ImageFactory(project=project), labeler=labeler_b)
    client.force_login(labeler_a)
    assert client.get(f"/projects/{project.slug}/label/?annotation={theirs.pk}").status_code == 404
    assert client.get(f"/projects/{project.slug}/label/?annotation=abc").status_code == 404


def test_my_work_lists_only_my_annotations_with_time_and_status(
    client, project, acknowledged, classes, labeler_a, labeler_b
):
    image = ImageFactory(project=project, original_name="street-7.png")
    mine = AnnotationFactory(
        image=image,
        labeler=labeler_a,
        status="submitted",
        submitted_at=timezone.now(),
        active_seconds=42,
    )
    BoxFactory(annotation=mine, label_class=classes[0])
    theirs = AnnotationFactory(
        image=image, labeler=labeler_b, status="submitted", submitted_at=timezone.now()
    )
    for _ in range(3):
        BoxFactory(annotation=theirs, label_class=classes[1])
    client.force_login(labeler_a)
    html = client.get(f"/projects/{project.slug}/my-work/").content.decode()
    assert "street-7.png" in html
    assert "42 s" in html
    assert f"?annotation={mine.pk}" in html
    assert f"?annotation={theirs.pk}" not in html
    row = html[html.index(f'data-annotation="{mine.pk}"') :]
    assert "<td>1</td>" in row.split("</tr>")[0]  # my one box, not the others' three
    assert "Reopen to edit" in html
