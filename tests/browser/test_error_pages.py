"""The 403 and 404 pages in a real browser, at desktop and phone widths."""

import pytest

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, ProjectFactory

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("width", [1440, 390])
def test_403_and_404_pages_use_the_site_layout(page, login, live_server, project, labeler_a, width):
    project.name = "Street scenes"
    project.save(update_fields=["name"])
    page.set_viewport_size({"width": width, "height": 800})
    login("labeler_a", PASSWORD)

    response = page.goto(f"/projects/{project.slug}/settings/")
    assert response.status == 403
    assert "Your role in Street scenes does not allow this" in page.inner_text("main")
    assert page.is_visible("header.topbar")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"error-403-{width}")

    response = page.goto(f"/projects/{ProjectFactory(name='Docks').slug}/")
    assert response.status == 404
    assert "No such project." in page.inner_text("main")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    screenshot(page, f"error-404-{width}")

    page.click("text=Go to my projects")
    page.wait_for_url(f"{live_server.url}/")
