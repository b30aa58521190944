"""Labeling in the browser: instructions first, draw, change a class by key, autosave, reload,
submit, next image; and the effort budget of issue 5 (at most 2 actions per box + 1 to submit)."""

import pytest

from annotations.models import Annotation
from tests.browser.conftest import screenshot
from tests.browser.labeling_helpers import (  # noqa: F401 - fixture
    Labeler,
    iou,
    scene_image,
)
from tests.factories import (
    PASSWORD,
    InstructionVersionFactory,
    LabelClassFactory,
)

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

OBJECTS = [(120, 140, 260, 180), (520, 300, 200, 150), (900, 120, 300, 260)]


@pytest.fixture
def scene(project, lead):
    car = LabelClassFactory(project=project, name="car", hotkey="1", color="#e6194b", order=0)
    truck = LabelClassFactory(project=project, name="truck", hotkey="2", color="#3cb44b", order=1)
    InstructionVersionFactory(
        project=project, author=lead, number=1, body="# Vehicles\n\nBox **every** vehicle."
    )
    first = scene_image(project, objects=OBJECTS, name="street-1.png")
    second = scene_image(project, objects=OBJECTS[:1], name="street-2.png", shade=(90, 110, 90))
    return {"car": car, "truck": truck, "images": [first, second]}


def stored_boxes(annotation_id):
    annotation = Annotation.objects.get(pk=annotation_id)
    return [
        ((b.x, b.y, b.width, b.height), b.label_class.name) for b in annotation.boxes.order_by("id")
    ]


def assert_boxes_match(stored, drawn):
    """Each drawn (box, class) has exactly one stored box over it (IoU > 0.95), of that class."""
    assert len(stored) == len(drawn), stored
    for box, name in drawn:
        best = max(stored, key=lambda s: iou(s[0], box))
        assert iou(best[0], box) > 0.95, (best, box)
        assert best[1] == name, (best, box, name)


def test_a_labeler_acknowledges_draws_changes_a_class_reloads_submits_and_goes_on(
    page, login, project, labeler_a, scene
):
    login("labeler_a", PASSWORD)
    page.goto(project.get_absolute_url())
    screenshot(page, "project-instructions")
    page.click("#acknowledge")
    page.wait_for_url(f"**/projects/{project.slug}/label/")
    labeler = Labeler(page)
    labeler.wait_ready()
    first_id = int(page.locator("#stage").get_attribute("data-annotation"))

    for x, y, w, h in OBJECTS:
        labeler.drag_box(x, y, w, h)
    page.wait_for_selector('#box-count[data-count="3"]')
    # Select the middle box and make it a truck.
    x, y, w, h = OBJECTS[1]
    labeler.click(x + w / 2, y + h / 2)
    labeler.key("2")
    labeler.wait_saved()
    boxes = stored_boxes(first_id)
    assert_boxes_match(boxes, list(zip(OBJECTS, ["car", "truck", "car"], strict=True)))
    screenshot(page, "labeling")

    page.reload()
    labeler.wait_ready()
    assert int(page.locator("#stage").get_attribute("data-annotation")) == first_id
    assert labeler.box_count() == 3
    assert "restored" in page.locator("#save-status").inner_text()
    screenshot(page, "labeling-restored")

    labeler.key("Enter")
    labeler.wait_ready(image_id=scene["images"][1].pk)
    assert labeler.box_count() == 0
    first = Annotation.objects.get(pk=first_id)
    assert first.status == "submitted" and first.submitted_at is not None
    assert first.active_seconds >= 1
    assert sorted(stored_boxes(first_id)) == sorted(boxes)

    labeler.key("0")  # nothing to label on this one: 0 asks for a second press
    labeler.key("0")
    page.wait_for_selector("#stage-empty:not([hidden])")
    assert "Nothing left" in page.locator("#stage-empty").inner_text()
    assert Annotation.objects.filter(labeler=labeler_a, status="submitted").count() == 2
    screenshot(page, "labeling-done")


FIVE = [
    ((80, 90, 220, 160), "car"),
    ((380, 110, 240, 170), "car"),
    ((700, 80, 360, 260), "truck"),
    ((150, 520, 260, 200), "car"),
    ((900, 560, 420, 300), "truck"),
]


def test_a_five_object_image_costs_at_most_two_actions_per_box_plus_one_to_submit(
    page, login, project, labeler_a, scene
):
    Annotation.objects.all().delete()
    project.images.exclude(pk=scene["images"][0].pk).delete()
    image = project.images.get()
    image.delete()
    five = scene_image(project, objects=[box for box, _ in FIVE], name="five.png")
    login("labeler_a", PASSWORD)
    page.goto(project.get_absolute_url())
    page.click("#acknowledge")
    labeler = Labeler(page)
    labeler.wait_ready(image_id=five.pk)
    labeler.actions.clear()  # count from the moment the image is on screen

    current = "car"
    for (x, y, w, h), name in FIVE:
        if name != current:
            labeler.key("2" if name == "truck" else "1")
            current = name
        labeler.drag_box(x, y, w, h)
    page.wait_for_selector('#box-count[data-count="5"]')
    screenshot(page, "labeling-five")
    annotation_id = int(page.locator("#stage").get_attribute("data-annotation"))
    labeler.key("Enter")
    page.wait_for_selector("#stage-empty:not([hidden])")

    assert len(labeler.actions) <= 2 * len(FIVE) + 1, labeler.actions
    annotation = Annotation.objects.get(pk=annotation_id)
    assert annotation.status == "submitted"
    assert_boxes_match(stored_boxes(annotation_id), FIVE)


def test_a_new_instruction_version_shows_what_changed_and_must_be_acknowledged(
    page, login, project, lead, labeler_a, scene
):
    from projects.models import InstructionVersion
    from projects.services import instruction_acknowledge, instruction_version_publish

    instruction_acknowledge(user=labeler_a, version=InstructionVersion.objects.get(number=1))
    instruction_version_publish(
        project=project,
        author=lead,
        body="# Vehicles\n\nBox **every** vehicle. A pickup is a *truck*.",
        summary="Pickups are trucks, not cars.",
    )
    login("labeler_a", PASSWORD)
    page.goto(f"/projects/{project.slug}/label/")
    page.wait_for_url(f"**/projects/{project.slug}/")  # sent back to read version 2
    assert "The instructions changed (version 2)" in page.locator(".messages").inner_text()
    changes = page.locator("#changes")
    assert "Pickups are trucks, not cars." in changes.inner_text()
    screenshot(page, "project-instructions-changed")
    page.click("#acknowledge")
    Labeler(page).wait_ready()
