import pytest

from tests.browser.conftest import screenshot
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_member_logs_in_and_sees_their_projects_with_their_role(page, login, project, labeler_a):
    login("labeler_a", PASSWORD)
    assert page.locator("h1").inner_text() == "My projects"
    row = page.locator("#project-cards li").first
    assert project.name in row.inner_text()
    assert "Labeler" in row.inner_text()
    screenshot(page, "home")


def test_wrong_password_shows_an_error(page, db):
    page.goto("/accounts/login/")
    page.fill("#id_username", "nobody")
    page.fill("#id_password", "wrong")
    page.click("button[type=submit]")
    assert "do not match" in page.locator(".error").inner_text()
