"""At 390 px wide (a phone), the lead's pages fit the screen: nothing scrolls sideways."""

import pytest

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD
from tests.quality.review_fixtures import instructions, results  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_report_flag_queue_and_lead_pages_do_not_scroll_sideways_at_390_px(
    page,
    login,
    project,
    results,  # noqa: F811
):
    login("lead", PASSWORD)
    page.set_viewport_size({"width": 390, "height": 844})
    image_id = results["conflict"].image_id
    for name, path in (
        ("report", "report/"),
        ("flags", "flags/?status=all"),
        ("review", f"flags/{results['conflict'].pk}/"),
        ("images", "images/"),
        ("image", f"images/{image_id}/"),
        ("people", "people/"),
        ("settings", "settings/"),
    ):
        page.goto(f"/projects/{project.slug}/{path}")
        page.wait_for_load_state("networkidle")
        width = page.evaluate("document.documentElement.scrollWidth")
        screenshot(page, f"narrow-{name}")
        assert width <= 390, f"{path} is {width} px wide at 390"
