"""A lead writes a new project's instructions in the editor, adds a worked example with an image
and publishes version 2; a labeler reads version 2 with its image and must acknowledge it."""

import pytest
from playwright.sync_api import expect

from projects.instructions import instructions_current
from projects.models import InstructionAsset, Membership, Project
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD, UserFactory
from tests.images import png_bytes

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def shots(page, name):
    """Screenshots at a desktop and a phone width, then back to the test's viewport."""
    for width, height in ((1440, 900), (390, 844)):
        page.set_viewport_size({"width": width, "height": height})
        screenshot(page, f"{name}-{width}")
    page.set_viewport_size({"width": 1280, "height": 800})


def test_lead_writes_instructions_with_an_image_and_a_labeler_acknowledges_v2(
    page, login, browser, live_server
):
    UserFactory(username="lead", is_staff=True)
    ann = UserFactory(username="ann")
    login("lead", PASSWORD)

    # A project created without instructions.
    page.goto("/projects/new/")
    page.fill("#id_name", "Street scenes")
    page.click("#new-project-form button[type=submit]")
    page.wait_for_url("**/settings/")
    project = Project.objects.get(name="Street scenes")
    assert not project.instruction_versions.exists()
    assert page.locator("#no-instructions").is_visible()
    settings_url = page.url
    page.goto(f"/projects/{project.slug}/people/")
    page.fill("#new-member", "ann")
    page.click("#add-member")
    page.wait_for_selector("#member-row-ann")
    assert Membership.objects.filter(project=project, user=ann, role="labeler").exists()

    # Version 1, from the settings page's link.
    page.goto(settings_url)
    page.click("#no-instructions a")
    page.wait_for_selector("#instructions-editor")
    page.fill("#id_body", "# What to box\n\n- Box every **car**.")
    expect(page.locator("#preview strong")).to_have_text("car")
    page.click("#publish")
    page.wait_for_url(f"**/projects/{project.slug}/#instructions")
    assert instructions_current(project=project).number == 1
    assert "Box every car." in page.inner_text("#instructions")

    # Version 2: a worked example with an image, previewed as labelers will see it.
    page.click("#link-edit-instructions")
    page.wait_for_selector("#instructions-editor")
    page.press("#id_body", "Control+End")
    page.type("#id_body", "\n\n## Worked example\n\nA van with a separate cab is a truck:")
    page.set_input_files(
        "#asset-file",
        files=[{"name": "van.png", "mimeType": "image/png", "buffer": png_bytes(120, 80)}],
    )
    expect(page.locator("#preview img")).to_have_js_property("naturalWidth", 120)
    asset = InstructionAsset.objects.get(project=project)
    body = page.input_value("#id_body")
    assert f"![van]({asset.get_absolute_url()})" in body
    page.fill("#id_summary", "Vans with a separate cab are trucks; worked example added.")
    shots(page, "instructions-editor")
    page.click("#publish")
    page.wait_for_url(f"**/projects/{project.slug}/#instructions")
    current = instructions_current(project=project)
    assert (current.number, current.body) == (2, body.replace("\r\n", "\n"))

    shots(page, "project-page-lead")

    # History and the diff between 1 and 2.
    page.click("#link-instruction-history")
    page.wait_for_selector("#v2")
    shots(page, "instructions-history")
    page.click("#compare")
    page.wait_for_selector("#diff")
    assert "Worked example" in page.inner_text("#diff .diff-added >> nth=1")
    shots(page, "instructions-diff")

    # The labeler sees version 2 with the image and must acknowledge it before labeling.
    context = browser.new_context(viewport={"width": 1280, "height": 800}, base_url=live_server.url)
    labeler = context.new_page()
    labeler.set_default_timeout(10_000)
    labeler.goto("/accounts/login/")
    labeler.fill("#id_username", "ann")
    labeler.fill("#id_password", PASSWORD)
    labeler.click("button[type=submit]")
    labeler.wait_for_url(lambda url: "/accounts/login" not in url)
    labeler.goto(f"/projects/{project.slug}/")
    assert "I have read version 2" in labeler.inner_text("#acknowledge")
    expect(labeler.locator("#instructions img")).to_have_js_property("naturalWidth", 120)
    assert labeler.locator("#start-labeling").count() == 0
    shots(labeler, "project-page-labeler-new-version")
    labeler.click("#acknowledge")
    labeler.wait_for_url(f"**/projects/{project.slug}/label/")
    assert current.acknowledgements.filter(user=ann).exists()
    context.close()
