"""Browser fixtures: Playwright (Python) driving the system Chromium against a live server.

Chromium is Debian's /usr/bin/chromium (CI installs it with apt-get); Playwright never downloads a
browser of its own. Screenshots land in test-artifacts/ so a person can look at them.

`page.wait_for_function` takes an arrow function ("() => ..."), never a bare expression:
Playwright evals a bare expression again at every poll, which the pages' CSP (no 'unsafe-eval')
refuses, so such a wait failed whenever its condition was not already true at the first check.
"""

import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

# Playwright's sync API runs an event loop in this thread; Django's async-safety check would
# otherwise refuse the ORM calls the tests make between page actions.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

# TEST_ARTIFACTS: another folder, for a second test run at the same time (CI's SQLite pass).
ARTIFACTS = Path(
    os.environ.get("TEST_ARTIFACTS") or Path(__file__).resolve().parents[2] / "test-artifacts"
)
CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        skip_or_fail(
            f"Chromium not found at {CHROMIUM}; install it with apt-get install chromium",
            service="chromium",
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def page(browser, live_server, settings):
    settings.DEBUG = True  # serve static files from the finders (app and node_modules)
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(10_000)
    yield page
    context.close()


@pytest.fixture
def login(page):
    """login(username, password): logs the browser in through the real login form."""

    def _login(username, password):
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login" not in url)

    return _login


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
