"""With media in a bucket (MEDIA_STORAGE=s3), Chromium loads every image through the
permission-checked routes and follows their redirects to presigned URLs of the local S3 server:
the labeling page, the image browser's thumbnails and one image's page, for an uploaded image
and one registered in place. The page's CSP lets those images in."""

import io

import pytest
from django.conf import settings as django_settings

from projects.enqueue import registration_enqueue
from projects.ingest import images_ingest
from tests.browser.conftest import screenshot
from tests.browser.labeling_helpers import Labeler
from tests.factories import PASSWORD, InstructionVersionFactory, LabelClassFactory
from tests.s3.registration_helpers import distinct_jpeg, put

pytestmark = [pytest.mark.browser, pytest.mark.s3, pytest.mark.django_db(transaction=True)]

LOADED = "i => i.decode().then(() => i.naturalWidth)"


def _endpoint() -> str:
    return django_settings.STORAGES["default"]["OPTIONS"]["endpoint_url"]


def test_the_browser_loads_images_from_the_bucket_through_presigned_urls(
    page, login, project, lead, labeler_a, s3_media
):
    LabelClassFactory(project=project, name="car", hotkey="1", order=0)
    InstructionVersionFactory(project=project, author=lead, number=1, body="Box every car.")
    (uploaded,) = images_ingest(
        project=project, files=[("uploaded.jpg", io.BytesIO(distinct_jpeg(1, 800, 500)))]
    )
    put(s3_media, "team/registered.jpg", distinct_jpeg(2, 800, 500))
    registration_enqueue(project=project, requested_by=lead, prefix="team/")  # runs eagerly

    from_bucket = []  # (address, status) of what the browser fetched from the S3 server
    page.on(
        "response",
        lambda r: from_bucket.append((r.url, r.status)) if r.url.startswith(_endpoint()) else None,
    )
    login("labeler_a", PASSWORD)
    page.goto(project.get_absolute_url())
    page.click("#acknowledge")
    labeler = Labeler(page)
    labeler.wait_ready()
    assert page.locator("#label-image").evaluate(LOADED) == 800
    assert from_bucket and all(s == 200 and "X-Amz-Signature=" in u for u, s in from_bucket)
    screenshot(page, "s3-labeling")
    page.context.clear_cookies()

    login("lead", PASSWORD)
    page.goto(f"/projects/{project.slug}/images/")
    cards = page.locator("#image-grid .thumb-card img")
    assert cards.count() == 2
    fetched = len(from_bucket)
    for n in range(2):
        assert cards.nth(n).evaluate(LOADED) == 320
    assert len([u for u, _ in from_bucket[fetched:] if "/thumbs/" in u]) == 2
    screenshot(page, "s3-image-browser")
    page.goto(f"/projects/{project.slug}/images/{uploaded.image_id}/")
    assert page.locator("#stage-image").evaluate(LOADED) == 800
    assert all(status == 200 for _, status in from_bucket)


def test_a_lead_registers_a_prefix_from_the_settings_page(page, login, project, lead, s3_media):
    put(s3_media, "shoot/a.jpg", distinct_jpeg(1))
    put(s3_media, "shoot/b.png", distinct_jpeg(2))  # a JPEG named .png: the bytes decide
    put(s3_media, "shoot/c.jpg", b"not an image")
    login("lead", PASSWORD)
    page.goto(f"/projects/{project.slug}/settings/#register")
    page.fill("#id_prefix", "nothing/")
    page.click("#register-form button[type=submit]")
    assert "has no objects under nothing/" in page.inner_text("#settings-errors")
    page.fill("#id_prefix", "shoot/")
    page.click("#register-form button[type=submit]")
    page.wait_for_selector('#register-progress[data-state="done"]')
    text = page.inner_text("#register-text")
    assert text.startswith("Done: 2 added, 0 duplicates, 1 refused"), text
    for width in (1440, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.locator("#register").scroll_into_view_if_needed()
        screenshot(page, f"s3-register-{width}")
    page.click("#register-text a")
    assert "not an image Concord can read" in page.inner_text("body")
