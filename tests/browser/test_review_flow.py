"""A lead settles flags from the review page with the keyboard; labelers then acknowledge."""

import importlib.util

import pytest
from django.test import Client
from playwright.sync_api import expect

from projects.instructions import instructions_pending_for
from quality.models import Flag
from tests.browser.conftest import screenshot
from tests.browser.test_instructions_editor import shots
from tests.factories import PASSWORD
from tests.quality.review_fixtures import instructions, results  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_accepts_a_labeler_and_clarifies_instructions(
    page,
    login,
    project,
    results,  # noqa: F811
    labeler_a,
    labeler_b,
):
    conflict, low = results["conflict"], results["low"]
    login("lead", PASSWORD)
    page.goto(f"/projects/{project.slug}/flags/?status=all")
    page.click(f"a[href^='/projects/{project.slug}/flags/{conflict.pk}/']")
    page.wait_for_selector("#stage[data-ready]")
    assert page.locator("#layer .box.involved").count() == 2
    assert page.locator("#layers input[type=checkbox]").count() == 3  # two labelers + consensus
    page.uncheck("#layers input[data-layer='consensus']")
    screenshot(page, "review-factory")
    page.check("#layers input[data-layer='consensus']")

    page.keyboard.press("2")  # accept labeler_b's version
    missing = results["missing"]
    page.wait_for_url(f"**/flags/{missing.pk}/**")  # the queue shows every status here
    conflict.refresh_from_db()
    assert conflict.status == Flag.Status.RESOLVED
    assert conflict.accepted_labeler == labeler_b
    assert f"also settled #{missing.pk}" in page.locator(".messages").inner_text()
    # The image's other flag was settled by that decision, and its page says by which flag.
    missing.refresh_from_db()
    assert (missing.status, missing.settled_by_id) == (Flag.Status.RESOLVED, conflict.pk)
    assert page.get_attribute("#settled-with", "href").startswith(
        f"/projects/{project.slug}/flags/{conflict.pk}/"
    )
    page.wait_for_selector("#stage[data-ready]")
    screenshot(page, "review-settled-with")

    page.keyboard.press("j")  # next flag without going back to the list
    page.wait_for_url(f"**/flags/{low.pk}/**")
    page.keyboard.press("i")
    page.wait_for_selector("#instructions-form")
    body = page.input_value("#id_body")
    assert "Worked example" in body and "overlap only 0.42" in body
    rule = "**The rule:** Box the whole car including mirrors, as tight as the paint."
    page.fill("#id_body", body.split("**The rule:**")[0] + rule)
    # The live preview (the instructions editor's) shows the rule as labelers will read it.
    expect(page.locator("#preview")).to_contain_text("as tight as the paint")
    shots(page, "flag-clarify-instructions")
    page.click("#publish")
    page.wait_for_url(f"**/projects/{project.slug}/flags/**")
    low.refresh_from_db()
    assert low.resolution == Flag.Resolution.INSTRUCTIONS
    assert low.instruction_version.number == 2
    row = page.locator("#flag-table tr", has_text=f"#{missing.pk}")
    assert f"with #{conflict.pk}" in row.inner_text()  # the queue says what settled it
    screenshot(page, "flag-queue")

    assert instructions_pending_for(user=labeler_a, project=project) == low.instruction_version
    if importlib.util.find_spec("annotations.api"):  # the labeling API: refuses the next image
        client = Client()
        client.force_login(labeler_a)
        response = client.post(f"/api/projects/{project.pk}/queue/next/")
        assert response.status_code == 409
        assert response.json()["instructions"] == 2
