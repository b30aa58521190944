"""Bulk review in the flag queue (#18 part 3): on the demo project a lead settles every open flag
through the pages, with the bulk "Settle all matching" and the image review screen, in at most
20 counted actions (a click or key that submits a decision). Screenshots of both screens at
desktop and phone widths land in test-artifacts/."""

import pytest
from django.core.management import call_command
from rest_framework.test import APIClient

from projects.models import Project
from quality.models import Flag
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD
from tests.quality.review_fixtures import instructions, results  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

MAX_ACTIONS = 20


def shots(page, name):
    for width, height, label in ((1280, 800, "desktop"), (390, 844, "phone")):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"{name}-{label}")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        if overflow > 1:
            print(
                page.evaluate("""() => [...document.querySelectorAll('body *')]
                .filter((e) => e.getBoundingClientRect().right > window.innerWidth + 1)
                .slice(0, 8).map((e) => e.tagName + '.' + e.className + '#' + e.id + ' '
                + Math.round(e.getBoundingClientRect().width))""")
            )
        assert overflow <= 1, f"{name} scrolls sideways at {width} px"
    page.set_viewport_size({"width": 1280, "height": 800})


def open_flags_by_api(project, lead) -> int:
    client = APIClient()
    client.force_login(lead)
    response = client.get(f"/api/projects/{project.pk}/flags/?status=open")
    assert response.status_code == 200
    return response.json()["count"]


def test_a_lead_settles_every_open_flag_of_the_demo_in_at_most_20_actions(page, login):
    call_command("demo", stdout=open("/dev/null", "w"))  # noqa: SIM115 - quiet demo
    project = Project.objects.get(slug="street-scenes")
    lead = project.memberships.get(role="lead").user
    total = open_flags_by_api(project, lead)
    assert total > 300
    actions = 0

    login("lead", "concord-demo")
    page.goto(f"/projects/{project.slug}/flags/")
    # Impact first: the first rows are those whose correction changes the consensus.
    first_kind = page.locator("#flag-table tbody tr").first.locator(".chip").inner_text()
    assert first_kind in ("Label conflict", "Grouping"), first_kind
    assert page.locator("#flag-table img.thumb").count() == 50
    page.wait_for_function(
        "() => [...document.querySelectorAll('#flag-table img.thumb')].slice(0, 5)"
        ".every((img) => img.complete && img.naturalWidth > 0)"
    )
    shots(page, "flag-queue-bulk")

    # The keyboard: j chooses the first row (focus visible), ? opens the help.
    page.keyboard.press("j")
    assert page.evaluate("() => document.activeElement.matches('#flag-table tr.clickable')")
    page.keyboard.press("?")
    assert page.locator("#keys-help").is_visible()
    page.keyboard.press("Escape")

    # The top of the queue, image by image: i opens the chosen row's image with all its flags.
    page.keyboard.press("i")
    page.wait_for_selector("#stage[data-ready]")
    page.wait_for_function("() => document.getElementById('stage-image').complete")
    assert page.locator("#layer .box.involved").count() > 0
    assert page.locator("#layer .box.consensus").count() > 0
    shots(page, "image-review")
    # One flag at a time: j chooses the next flag, d dismisses it with a reason.
    open_here = page.locator(".image-flag:not(.settled)").count()
    page.keyboard.press("j")
    chosen = page.get_attribute(".image-flag.chosen", "data-flag")
    page.keyboard.press("d")
    page.fill("#dismiss-note", "Both readings are acceptable here.")
    page.click("#btn-dismiss-confirm")
    actions += 1
    page.wait_for_load_state()
    assert Flag.objects.get(pk=chosen).status == Flag.Status.DISMISSED
    if open_here > 1:  # the same image, one flag fewer
        assert f"Flag #{chosen} settled" in page.inner_text(".messages")
        page.wait_for_selector("#stage[data-ready]")
        page.keyboard.press("c")  # the rest of the image at once: accept the consensus
        actions += 1
        page.wait_for_load_state()
    # On to the next image of the queue.
    page.wait_for_selector("#stage[data-ready]")
    page.keyboard.press("c")
    actions += 1
    page.wait_for_load_state()
    page.wait_for_selector("#stage[data-ready]")
    page.keyboard.press("q")
    page.wait_for_url("**/flags/?**")

    # "Settle all matching": the dry run counts first, then one decision settles the lot.
    opened = Flag.objects.filter(project=project, status="open").count()
    page.keyboard.press("s")
    page.wait_for_function("() => /match/.test(document.getElementById('bulk-count').textContent)")
    assert f"{opened:,} open flags match" in page.inner_text("#bulk-count")
    assert Flag.objects.filter(project=project, status="open").count() == opened  # dry run
    shots(page, "flag-queue-bulk-dry-run")
    page.fill("#bulk-note", "The consensus is right; loose boxes and grouping are habits.")
    page.click("#bulk-go")
    actions += 1
    page.wait_for_selector("#bulk-result[data-done]", timeout=120_000)
    summary = page.inner_text("#bulk-summary")
    assert "Settled" in summary
    assert page.locator("#bulk-error").is_hidden()
    shots(page, "flag-queue-bulk-done")
    left = Flag.objects.filter(project=project, status="open").count()
    if left:  # images whose labelers tie on a class: the result says so
        assert "tie on a class" in summary

    # Whatever is left, image by image: one decision settles all of an image's flags; where
    # the labelers tie on a class the consensus is refused, so the first labeler's version.
    page.click("#bulk-reload")
    page.wait_for_load_state()
    if page.locator("#review-images").count():
        page.click("#review-images")
    while page.locator("#image-form").count():
        page.wait_for_selector("#stage[data-ready]")
        page.keyboard.press("1")
        actions += 1
        page.wait_for_load_state()
        assert actions <= MAX_ACTIONS, "more actions than the measure allows"

    assert open_flags_by_api(project, lead) == 0
    assert actions <= MAX_ACTIONS
    print(f"\n{total} open flags settled in {actions} counted actions")


def test_refusals_are_shown_as_page_messages(page, login, project, results, lead):  # noqa: F811
    """A bulk call the server refuses (here: the lead lost the role after the page loaded) and
    a consensus that cannot be accepted (a class tie) are said plainly; nothing changes."""
    login("lead", PASSWORD)
    page.goto(f"/projects/{project.slug}/flags/")
    page.click("#bulk-open")
    page.wait_for_function("() => /match/.test(document.getElementById('bulk-count').textContent)")
    assert "3 open flags match" in page.inner_text("#bulk-count")
    project.memberships.filter(user=lead).update(role="labeler")
    page.click("#bulk-go")
    page.wait_for_selector("#bulk-error:not([hidden])")
    assert "does not allow this" in page.inner_text("#bulk-error")
    screenshot(page, "flag-queue-bulk-refused")
    project.memberships.filter(user=lead).update(role="lead")
    assert Flag.objects.filter(project=project, status="open").count() == 3

    img1 = results["images"][0]
    page.goto(f"/projects/{project.slug}/flags/{results['conflict'].pk}/")
    page.wait_for_selector("#stage[data-ready]")
    page.keyboard.press("g")  # from one flag to all of its image's flags
    page.wait_for_url(f"**/flags/image/{img1.pk}/**")
    page.wait_for_selector("#stage[data-ready]")
    assert page.locator(".image-flag").count() == 2
    page.keyboard.press("c")
    page.wait_for_selector(".messages .error")
    assert "tie on a class" in page.inner_text(".messages")
    assert Flag.objects.filter(image=img1, status="open").count() == 2
