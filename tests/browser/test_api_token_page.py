import pytest
from rest_framework.authtoken.models import Token

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_engineer_makes_a_token_and_the_page_shows_how_to_use_it(page, login, engineer):
    login("engineer", PASSWORD)
    page.click("#api-token-link")
    page.wait_for_url("**/accounts/token/")
    assert "You have no API token" in page.locator("#token-status").inner_text()
    page.click("#token-create")
    page.wait_for_selector("#token-revoke")
    key = Token.objects.get(user=engineer).key
    page.click("#token-key summary")
    assert page.locator(".token-key").inner_text() == key
    assert f"Authorization: Token {key}" in page.locator("#token-usage pre").inner_text()
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        screenshot(page, f"api-token-{width}")
        overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
        assert not overflow, f"the page scrolls sideways at {width} px"
    page.click("#token-revoke")
    page.wait_for_selector("#token-create")
    assert not Token.objects.filter(user=engineer).exists()
    assert "revoked" in page.locator(".messages").inner_text()
