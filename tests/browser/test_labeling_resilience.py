"""Never lose work, and say so: failed saves are shown and retried, refused saves show the
server's message, delete/undo are saved, a submitted image reopened from My work is edited."""

import json

import pytest

from annotations.models import Annotation
from projects.services import instruction_acknowledge
from tests.browser.conftest import screenshot
from tests.browser.labeling_helpers import (  # noqa: F401 - fixture
    Labeler,
    scene_image,
)
from tests.factories import PASSWORD, InstructionVersionFactory, LabelClassFactory

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

OBJECTS = [(100, 100, 300, 200), (700, 400, 300, 250)]


def project_ready(project, lead, labeler_a):
    """Two classes, instructions labeler_a acknowledged, two images."""
    LabelClassFactory(project=project, name="car", hotkey="1", color="#e6194b", order=0)
    LabelClassFactory(
        project=project,
        name="truck",
        hotkey="2",
        color="#3cb44b",
        order=1,
        guidance="Anything with a **cargo bed** or box.",
    )
    version = InstructionVersionFactory(project=project, author=lead, number=1)
    instruction_acknowledge(user=labeler_a, version=version)
    scene_image(project, objects=OBJECTS, name="a.png")
    scene_image(project, objects=OBJECTS[:1], name="b.png", shade=(80, 90, 100))


@pytest.fixture
def labeling(page, login, project, lead, labeler_a):
    project_ready(project, lead, labeler_a)
    login("labeler_a", PASSWORD)
    page.goto(f"/projects/{project.slug}/label/")
    labeler = Labeler(page)
    labeler.wait_ready()
    return labeler


def current_annotation(page):
    return Annotation.objects.get(pk=page.locator("#stage").get_attribute("data-annotation"))


def test_a_failed_save_is_shown_and_retried_until_it_succeeds(page, labeling):
    failures = []

    def flaky(route):
        if route.request.method == "PUT" and len(failures) < 2:
            failures.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    page.route("**/api/annotations/*/", flaky)
    labeling.drag_box(*OBJECTS[0])
    page.wait_for_selector('#save-status[data-state="failed"]')
    assert "Save failed — retrying" in page.locator("#save-status").inner_text()
    screenshot(page, "labeling-save-failed")
    labeling.wait_saved()  # retried with backoff, no action from the labeler
    assert len(failures) == 2
    assert current_annotation(page).boxes.count() == 1


def test_a_refused_save_shows_the_servers_message(page, labeling):
    message = "Box 1 (index 0): lies outside the 1600 x 1000 image; draw it inside the image."

    def refuse(route):
        if route.request.method == "PUT":
            route.fulfill(
                status=400,
                content_type="application/json",
                body=json.dumps({"detail": message, "box": 0}),
            )
        else:
            route.continue_()

    page.route("**/api/annotations/*/", refuse)
    labeling.drag_box(*OBJECTS[0])
    page.wait_for_selector("#notice:not([hidden])")
    assert page.locator("#notice").inner_text() == message
    assert page.locator("#save-status").get_attribute("data-state") == "refused"
    labeling.key("Enter")  # submitting refuses too: the boxes are not saved
    page.wait_for_timeout(300)
    assert current_annotation(page).status == "draft"
    screenshot(page, "labeling-refused")


def test_delete_and_undo_are_saved(page, labeling):
    for box in OBJECTS:
        labeling.drag_box(*box)
    page.wait_for_selector('#box-count[data-count="2"]')
    # Annotorious merges edits less than 250 ms apart into one undo step; a person is slower.
    page.wait_for_timeout(300)
    x, y, w, h = OBJECTS[0]
    labeling.click(x + w / 2, y + h / 2)
    labeling.key("Delete")
    page.wait_for_selector('#box-count[data-count="1"]')
    labeling.wait_saved()
    assert current_annotation(page).boxes.count() == 1
    page.wait_for_timeout(300)
    labeling.key("Control+z")
    page.wait_for_selector('#box-count[data-count="2"]')
    page.wait_for_timeout(600)
    labeling.wait_saved()
    assert current_annotation(page).boxes.count() == 2


def test_guidance_opens_with_the_question_mark_and_closes_with_escape(page, labeling):
    labeling.key("?")
    assert page.locator("#guidance").is_visible()
    assert "cargo bed" in page.locator("#guidance").inner_text()
    screenshot(page, "labeling-guidance")
    labeling.key("Escape")
    assert not page.locator("#guidance").is_visible()


def test_zoom_keeps_boxes_in_image_pixels(page, labeling):
    labeling.key("+")
    labeling.key("+")
    labeling.drag_box(760, 450, 120, 90)  # near the centre, which zooming keeps in view
    labeling.wait_saved()
    box = current_annotation(page).boxes.get()
    assert (round(box.x), round(box.y), round(box.width), round(box.height)) == (760, 450, 120, 90)


def test_a_submitted_image_is_reopened_from_my_work_and_edited(page, labeling, project):
    labeling.drag_box(*OBJECTS[0])
    labeling.wait_saved()
    first = current_annotation(page)
    labeling.key("Enter")
    page.wait_for_selector(f'#stage[data-ready="1"]:not([data-annotation="{first.pk}"])')
    page.goto(f"/projects/{project.slug}/my-work/")
    row = page.locator(f'tr[data-annotation="{first.pk}"]')
    assert "Submitted" in row.inner_text()
    screenshot(page, "my-work")
    row.locator("a", has_text="Reopen to edit").click()
    labeling.wait_ready()
    assert labeling.box_count() == 1
    assert "Submitted — editing" in page.locator("#save-status").inner_text()
    labeling.drag_box(*OBJECTS[1])
    labeling.wait_saved()
    first.refresh_from_db()
    assert first.status == "submitted"
    assert first.boxes.count() == 2


def test_a_busy_queue_is_retried_and_the_image_opens(page, login, project, lead, labeler_a):
    project_ready(project, lead, labeler_a)
    busy = []

    def busy_once(route):  # what queue/next answers when every candidate is locked by others
        if route.request.method == "POST" and not busy:
            busy.append(route.request.url)
            route.fulfill(
                status=503,
                headers={"Retry-After": "1"},
                content_type="application/json",
                body=json.dumps({"detail": "Many labelers asked for images at once."}),
            )
        else:
            route.continue_()

    page.route("**/queue/next/", busy_once)
    login("labeler_a", PASSWORD)
    page.goto(f"/projects/{project.slug}/label/")
    Labeler(page).wait_ready()  # no click: the page asked again by itself
    assert len(busy) == 1
    assert Annotation.objects.filter(labeler=labeler_a, status="draft").count() == 1
