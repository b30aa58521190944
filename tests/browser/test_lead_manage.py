"""A lead manages a project in the browser: deletes an image from the image browser, removes a
member, invites someone who has no account (the link works once), merges a class."""

import pytest

from annotations.models import Box
from projects.models import Image, Invitation, Membership
from tests.browser.conftest import screenshot
from tests.factories import PASSWORD
from tests.quality.review_fixtures import instructions, results  # noqa: F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_lead_deletes_an_image_from_the_image_browser(
    page,
    login,
    project,
    results,  # noqa: F811
):
    conflict = results["conflict"]
    image = conflict.image
    login("lead", PASSWORD)
    page.goto(f"/projects/{project.slug}/")
    page.click("#link-images")
    page.wait_for_selector("#image-grid")
    assert page.locator("#image-grid .thumb-card").count() == 3
    page.select_option("select[name=flags]", "open")
    page.click("#image-filters button[type=submit]")
    page.wait_for_url(lambda url: "flags=open" in url)
    cards = page.locator("#image-grid .thumb-card")
    assert cards.count() == 2  # the conflict's image and the low-overlap one
    # every thumbnail loaded (a real JPEG, permission-checked)
    for n in range(cards.count()):
        page.wait_for_selector(f"#image-grid li:nth-child({n + 1}) img")
        loaded = cards.nth(n).locator("img").evaluate("i => i.decode().then(() => i.naturalWidth)")
        assert loaded > 0
    screenshot(page, "image-browser")
    page.click(f"#image-{image.pk} a")
    page.wait_for_selector("#stage[data-ready]")
    assert page.locator("#layer .box").count() >= 3  # both labelers' boxes and the consensus
    assert page.locator("#layers input[type=checkbox]").count() == 3
    page.click("#delete-image")
    effects = page.inner_text("#delete-effects")
    assert "2 labelers' label sets" in effects and "flags" in effects
    screenshot(page, "image-delete-confirm")
    page.click("#confirm-delete")
    page.wait_for_selector(".messages")
    assert "/images/?flags=open" in page.url, page.url  # back to the filtered list
    assert f"Deleted {image.original_name}" in page.inner_text(".messages")
    assert page.locator("#image-grid .thumb-card").count() == 1
    assert not Image.objects.filter(pk=image.pk).exists()


def test_lead_removes_a_member_and_invites_a_new_one(page, login, project, labeler_a, browser):
    login("lead", PASSWORD)
    page.goto(f"/projects/{project.slug}/people/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#remove-labeler_a")
    page.wait_for_selector(".messages")
    assert "Removed labeler_a" in page.inner_text(".messages")
    assert not Membership.objects.filter(project=project, user=labeler_a).exists()

    # the picker suggests users by the start of their name
    page.fill("#new-member", "lab")
    page.wait_for_selector("#user-matches option", state="attached")
    assert page.get_attribute("#user-matches option", "value") == "labeler_a"

    page.fill("#invite-note", "Dana")
    page.select_option("#invite-role", "labeler")
    page.click("#create-invitation")
    link = page.input_value("#invitation-link")
    screenshot(page, "people-invitation")

    # Dana opens the link in her own browser, with no account
    dana = browser.new_context(base_url=page.url.split("/projects/")[0])
    other = dana.new_page()
    other.goto(link)
    other.fill("#id_username", "dana")
    other.fill("#id_password", "labels-are-fun-42")
    other.fill("#id_password2", "labels-are-fun-42")
    other.click("#accept-invitation")
    other.wait_for_url(f"**/projects/{project.slug}/")
    assert "you joined" in other.inner_text(".messages")
    assert Membership.objects.get(project=project, user__username="dana").role == "labeler"
    other.context.clear_cookies()
    other.goto(link)  # once only
    assert "used already" in other.inner_text("#invitation-unusable")
    dana.close()
    assert Invitation.objects.get().used_by.username == "dana"


def test_lead_merges_a_class_and_sees_why_it_cannot_be_deleted(
    page,
    login,
    project,
    results,  # noqa: F811
):
    truck = project.classes.get(name="truck")
    car = project.classes.get(name="car")
    login("lead", PASSWORD)
    page.goto(f"/projects/{project.slug}/settings/")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#delete-class-{truck.pk}")
    page.wait_for_selector("#settings-errors")
    assert "truck cannot be deleted" in page.inner_text("#settings-errors")
    page.click(f"#class-row-{truck.pk} details.merge summary")
    page.select_option(f"#merge-into-{truck.pk}", str(car.pk))
    screenshot(page, "class-merge")
    page.once("dialog", lambda dialog: dialog.accept())
    page.click(f"#merge-{truck.pk}")
    page.wait_for_selector(".messages")
    assert "Merged truck into car" in page.inner_text(".messages")
    assert not project.classes.filter(name="truck").exists()
    assert set(Box.objects.values_list("label_class", flat=True)) == {car.pk}


def test_lead_uploads_with_a_progress_bar_and_a_result_per_file(page, login, project):
    from tests.images import png_bytes, zip_bytes

    login("lead", PASSWORD)
    page.goto(f"/projects/{project.slug}/settings/")
    archive = zip_bytes({"a.png": png_bytes(color=(1, 2, 3)), "notes.txt": b"not an image"})
    page.set_input_files(
        "#id_files",
        [
            {"name": "one.png", "mimeType": "image/png", "buffer": png_bytes(color=(9, 9, 9))},
            {"name": "batch.zip", "mimeType": "application/zip", "buffer": archive},
        ],
    )
    page.click("#upload-button")
    page.wait_for_selector("#upload-summary:not([hidden])")
    assert page.locator("#upload-progress").is_hidden()
    summary = page.inner_text("#upload-summary")
    assert "2 images added" in summary and "1 refused" in summary
    rows = page.locator("#ingest-results tbody tr")
    assert rows.count() == 3
    refused = page.inner_text("#ingest-results .ingest-refused")
    assert "refused" in refused and len(refused) > len("refused ")  # with its reason
    assert page.url.endswith("/settings/")  # no page load: the results came by XHR
    assert project.images.count() == 2
    screenshot(page, "upload-results")
