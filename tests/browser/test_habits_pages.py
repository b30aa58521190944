"""Habits in the browser: the lead's report lists them and acts in one step; the labeler sees
their own habit, with the lead's feedback and examples, in My work. Desktop and phone widths."""

import pytest

from quality.models import Flag, Pattern
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD
from tests.quality.habit_fixtures import habits_project, label_images, summarize

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _fits(page, selector: str) -> None:
    """The section is no wider than the viewport (nothing to scroll sideways on a phone)."""
    width = page.evaluate("() => window.innerWidth")
    box = page.locator(selector).bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= width + 1, (selector, box, width)


def test_lead_acts_on_a_habit_and_the_labeler_sees_it(page, login, lead):
    world = habits_project(lead)
    label_images(world, 12, ann_misses=3)
    summarize(world["project"])
    slug = world["project"].slug
    loose = Pattern.objects.get(kind="loose_boxes", labeler=world["cho"])

    login("lead", PASSWORD)
    page.goto(f"/projects/{slug}/report/")
    habit = page.locator(f'.habit[data-pattern="{loose.pk}"]')
    assert "bottom edge" in habit.inner_text() and "labeler_cho" in habit.inner_text()
    assert habit.locator(".habit-examples a").count() == len(loose.example_flag_ids)
    page.locator("#habits").scroll_into_view_if_needed()
    screenshot(page, "habits-report-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/projects/{slug}/report/#habits")
    _fits(page, "#habits")
    screenshot(page, "habits-report-390")

    # One step: feedback with a note, from the report.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"/projects/{slug}/report/")
    habit = page.locator(f'.habit[data-pattern="{loose.pk}"]')
    habit.locator('input[name="note"]').fill("Keep the **bottom edge** on the bumper.")
    habit.locator('button[value="feedback"]').click()
    page.wait_for_selector(".messages")
    assert "Feedback sent" in page.locator(".messages").inner_text()
    loose.refresh_from_db()
    assert loose.action == "feedback" and 3 <= len(loose.feedback_flag_ids) <= 5
    # The habit's flags are still open: feedback settles nothing.
    assert Flag.objects.filter(pk__in=loose.example_flag_ids, status="open").count() >= 3

    page.context.clear_cookies()
    login("labeler_cho", PASSWORD)
    page.goto(f"/projects/{slug}/my-work/")
    section = page.locator("#my-habits")
    text = section.inner_text()
    assert "bottom edge" in text and "Keep the bottom edge on the bumper." in text
    assert "labeler_ann" not in page.content() and "labeler_bob" not in page.content()
    assert section.locator(".habit-example").count() >= 3
    assert section.locator("rect.own").count() >= 3
    assert section.locator("rect.consensus").count() >= 3
    page.wait_for_function("() => [...document.querySelectorAll('#my-habits image')].length > 0")
    screenshot(page, "habits-my-work-1280")
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"/projects/{slug}/my-work/")
    _fits(page, "#my-habits")
    screenshot(page, "habits-my-work-390")
