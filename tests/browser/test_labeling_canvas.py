"""The labeling canvas at CVAT's level (issue 16): class names on the boxes, the list of boxes,
wheel zoom at the pointer, panning, small images not enlarged, brightness/contrast, the
crosshair, a confirmed `0`, where am I and the previous image, and phones told to use a
larger screen."""

from datetime import timedelta

import pytest
from django.utils import timezone

from annotations.models import Annotation
from projects.palette import CLASS_COLORS
from projects.services import instruction_acknowledge
from quality.services.review import flag_resolve
from tests.browser.conftest import screenshot
from tests.browser.labeling_helpers import Labeler, scene_image
from tests.factories import PASSWORD, InstructionVersionFactory, LabelClassFactory
from tests.quality.review_fixtures import instructions, results  # noqa: F401 - fixtures

pytestmark = [
    pytest.mark.browser,
    pytest.mark.django_db(transaction=True),
]

OBJECTS = [(100, 100, 300, 200), (700, 400, 300, 250)]


@pytest.fixture
def ready(project, lead, labeler_a):
    """Two classes in palette colours, acknowledged instructions, two 1600 x 1000 images."""
    LabelClassFactory(project=project, name="car", hotkey="1", color=CLASS_COLORS[0], order=0)
    LabelClassFactory(project=project, name="truck", hotkey="2", color=CLASS_COLORS[6], order=1)
    version = InstructionVersionFactory(project=project, author=lead, number=1)
    instruction_acknowledge(user=labeler_a, version=version)
    first = scene_image(project, objects=OBJECTS, name="harbour-1.png")
    second = scene_image(project, objects=OBJECTS[:1], name="harbour-2.png", shade=(30, 35, 40))
    return [first, second]


@pytest.fixture
def labeling(page, login, project, ready):
    login("labeler_a", PASSWORD)
    page.goto(f"/projects/{project.slug}/label/")
    labeler = Labeler(page)
    labeler.wait_ready()
    return labeler


def current(page) -> Annotation:
    return Annotation.objects.get(pk=page.locator("#stage").get_attribute("data-annotation"))


def stored_classes(annotation) -> list[str]:
    return [box.label_class.name for box in annotation.boxes.order_by("id")]


def image_point_under(page, x, y):
    """The image pixel (API coordinates) under the page point (x, y)."""
    stage = page.locator("#stage")
    width = int(stage.get_attribute("data-width"))
    height = int(stage.get_attribute("data-height"))
    box = page.locator("#label-image").bounding_box()
    return (x - box["x"]) * width / box["width"], (y - box["y"]) * height / box["height"]


def test_boxes_carry_their_class_names_and_the_list_selects_reclassifies_and_deletes(
    page, labeling
):
    labeling.drag_box(*OBJECTS[0])
    labeling.drag_box(*OBJECTS[1])
    page.wait_for_selector('#box-count[data-count="2"]')
    assert page.locator(".box-tag").all_inner_texts() == ["car", "car"]
    rows = page.locator("#box-list .box-row")
    assert rows.count() == 2 and "1. car" in rows.nth(0).inner_text()

    # Keyboard only: Tab to the second row's class menu, choose truck.
    rows.nth(1).locator("select").focus()
    page.keyboard.press("ArrowDown")  # Chromium's closed <select> changes on arrow keys
    page.wait_for_selector(".box-tag:text-is('truck')")
    labeling.wait_saved()
    assert stored_classes(current(page)) == ["car", "truck"]
    # The truck's tag is on the truck: black text on the yellow palette colour.
    tag = page.locator(".box-tag", has_text="truck")
    assert tag.evaluate("t => getComputedStyle(t).color") == "rgb(0, 0, 0)"
    screenshot(page, "labeling-box-list")

    # Enter on a row selects its box on the image; Del in the list deletes it.
    rows.nth(0).locator(".box-pick").focus()
    page.keyboard.press("Enter")
    page.wait_for_selector('#box-list .box-row[aria-selected="true"]')
    assert "car" in page.locator('#box-list .box-row[aria-selected="true"]').inner_text()
    page.keyboard.press("Delete")
    page.wait_for_selector('#box-count[data-count="1"]')
    labeling.wait_saved()
    assert stored_classes(current(page)) == ["truck"]
    assert page.locator(".box-tag").all_inner_texts() == ["truck"]
    # Focus stayed in the list; Enter there never submits the image.
    page.keyboard.press("Enter")
    page.wait_for_timeout(300)
    assert current(page).status == "draft"


def test_the_wheel_zooms_at_the_pointer_and_space_or_middle_drag_pans(page, labeling):
    pointer = (300, 400)
    page.mouse.move(*pointer)
    before = image_point_under(page, *pointer)
    zoom_before = float(page.locator("#stage").get_attribute("data-zoom"))
    for _ in range(3):
        page.mouse.wheel(0, -100)
    page.wait_for_function(
        f"() => Number(document.querySelector('#stage').dataset.zoom) > {zoom_before * 1.5}"
    )
    after = image_point_under(page, *pointer)
    assert abs(after[0] - before[0]) < 1.5 and abs(after[1] - before[1]) < 1.5, (before, after)

    # Space + drag pans by the drag and draws nothing.
    start = page.locator("#label-image").bounding_box()
    page.keyboard.down("Space")
    page.mouse.move(600, 400)
    page.mouse.down()
    page.mouse.move(500, 350, steps=5)
    page.mouse.up()
    page.keyboard.up("Space")
    moved = page.locator("#label-image").bounding_box()
    assert (round(moved["x"] - start["x"]), round(moved["y"] - start["y"])) == (-100, -50)
    # Middle-drag too.
    page.mouse.move(500, 350)
    page.mouse.down(button="middle")
    page.mouse.move(540, 380, steps=5)
    page.mouse.up(button="middle")
    again = page.locator("#label-image").bounding_box()
    assert (round(again["x"] - moved["x"]), round(again["y"] - moved["y"])) == (40, 30)
    assert labeling.box_count() == 0

    # A box drawn while zoomed in lands on the right image pixels.
    x, y = image_point_under(page, 500, 400)
    labeling.drag_box(x, y, 60, 40)
    labeling.wait_saved()
    box = current(page).boxes.get()
    assert abs(box.x - x) < 1 and abs(box.width - 60) < 1
    screenshot(page, "labeling-zoomed")


def test_a_small_image_is_shown_at_100_percent_unless_fit_is_on(page, login, project, ready):
    for image in ready:
        image.delete()
    scene_image(project, objects=[(20, 20, 80, 50)], size=(320, 200), name="tiny.png")
    login("labeler_a", PASSWORD)
    page.goto(f"/projects/{project.slug}/label/")
    Labeler(page).wait_ready()
    assert page.locator("#label-image").bounding_box()["width"] == pytest.approx(320, abs=1)
    assert page.locator("#zoom-level").inner_text() == "100%"
    page.check("#fit-small")
    assert page.locator("#label-image").bounding_box()["width"] > 600
    page.reload()  # the choice is remembered
    Labeler(page).wait_ready()
    assert page.locator("#fit-small").is_checked()
    assert page.locator("#label-image").bounding_box()["width"] > 600


def test_brightness_contrast_and_the_crosshair(page, labeling):
    page.locator("#brightness").fill("200")
    assert "brightness(200%)" in page.locator("#label-image").evaluate("i => i.style.filter")
    labeling.key("x")
    page.mouse.move(400, 300)
    assert page.locator("#crosshair").is_visible()
    screenshot(page, "labeling-bright-crosshair")
    labeling.key("x")
    assert not page.locator("#crosshair").is_visible()


def test_zero_asks_for_a_second_press_before_submitting_an_image_empty(page, labeling):
    first = current(page)
    labeling.key("0")
    notice = page.locator("#notice")
    assert "Press 0 again" in notice.inner_text()
    labeling.key("Escape")  # changed their mind
    assert not notice.is_visible()
    labeling.key("0")
    page.wait_for_timeout(300)
    first.refresh_from_db()
    assert first.status == "draft"
    labeling.key("0")
    page.wait_for_selector(f'#stage[data-ready="1"]:not([data-annotation="{first.pk}"])')
    first.refresh_from_db()
    assert first.status == "submitted" and first.boxes.count() == 0


def test_where_am_i_and_the_previous_image_within_the_grace_period(page, labeling, settings):
    settings.LABEL_EDIT_GRACE_MINUTES = 15
    first = current(page)
    assert page.locator("#image-name").inner_text() == first.image.original_name
    page.wait_for_function(
        "() => document.querySelector('#image-position').textContent"
        " === 'Image 1 of 2 in this session'"
    )
    assert page.locator("#previous-image").is_disabled()
    labeling.drag_box(*OBJECTS[0])
    labeling.key("Enter")
    page.wait_for_selector(f'#stage[data-ready="1"]:not([data-annotation="{first.pk}"])')
    second = current(page)
    page.wait_for_function(
        "() => document.querySelector('#image-position').textContent"
        " === 'Image 2 of 2 in this session'"
    )
    screenshot(page, "labeling-second-image")

    labeling.key("p")  # back to the first image, submitted a moment ago: still changeable
    labeling.wait_ready(image_id=first.image_id)
    assert "Submitted — editing until" in page.locator("#save-status").inner_text()
    assert page.locator("#image-position").inner_text().startswith("Image 1 of 2")
    labeling.drag_box(*OBJECTS[1])
    labeling.wait_saved()
    first.refresh_from_db()
    assert first.status == "submitted" and first.boxes.count() == 2
    labeling.key("Enter")  # done: back to the draft the labeler left
    labeling.wait_ready(image_id=second.image_id)

    # Past the grace period the previous image opens read-only and the server refuses changes.
    Annotation.objects.filter(pk=first.pk).update(
        submitted_at=timezone.now() - timedelta(minutes=16)
    )
    labeling.key("p")
    labeling.wait_ready(image_id=first.image_id)
    assert page.locator("#stage").get_attribute("data-readonly") == "1"
    assert "can no longer be changed" in page.locator("#notice").inner_text()
    labeling.drag_box(900, 600, 100, 100)
    page.wait_for_timeout(300)
    assert labeling.box_count() == 2 and first.boxes.count() == 2
    screenshot(page, "labeling-previous-read-only")
    labeling.key("Enter")
    labeling.wait_ready(image_id=second.image_id)


def test_at_1440_the_page_fits_and_at_390_it_asks_for_a_larger_screen(
    page, login, project, ready, labeler_a
):
    login("labeler_a", PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/projects/{project.slug}/label/")
    assert page.locator("#small-screen").is_visible()
    assert "needs a larger screen" in page.locator("#small-screen").inner_text()
    assert not page.locator("#stage").is_visible()
    screenshot(page, "labeling-390")
    page.wait_for_timeout(500)
    assert not Annotation.objects.filter(labeler=labeler_a).exists()  # no slot taken for nothing

    page.set_viewport_size({"width": 1440, "height": 900})  # widened: the page starts
    Labeler(page).wait_ready()
    assert not page.locator("#small-screen").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 1440
    screenshot(page, "labeling-1440")


def test_my_work_shows_the_leads_feedback_as_markdown_without_naming_anyone(
    page,
    login,
    project,
    lead,
    labeler_a,
    results,  # noqa: F811
):
    flag_resolve(
        flag=results["low"],
        user=lead,
        resolution="dismissed",
        note="Both boxes are fine: **tight** boxes are preferred.\n\n* touch the outermost pixels",
    )
    login("labeler_a", PASSWORD)
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"/projects/{project.slug}/my-work/")
        item = page.locator(f'#my-feedback [data-flag="{results["low"].pk}"]')
        assert item.locator(".lead-note strong").inner_text() == "tight"
        assert "The labelers split evenly here" in item.inner_text()  # 2 labelers: no majority
        assert "labeler_b" not in page.content()
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        screenshot(page, f"my-work-{width}")
