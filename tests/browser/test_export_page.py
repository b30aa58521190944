"""An ML engineer downloads a COCO export and its data card from the Export page."""

import json
from pathlib import Path

import pytest

from quality.services.summary import project_summarize
from tests.browser.test_instructions_editor import shots
from tests.exports.conftest import dataset  # noqa: F401
from tests.factories import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_engineer_downloads_coco_and_the_data_card(page, login, engineer, dataset):  # noqa: F811
    project_summarize(project=dataset.project)
    login("engineer", PASSWORD)
    page.goto(f"/projects/{dataset.project.slug}/")
    page.click("#link-export")
    page.wait_for_selector("#export-form")
    assert page.get_attribute("#link-api-docs", "href") == "/api/docs/"

    # Only cars: ticking the class re-applies the filters and the links follow.
    with page.expect_navigation():
        page.check("#export-form input[name=classes][value=car]")
    assert "classes=car" in page.get_attribute("#download", "href")
    assert "--classes car" in page.inner_text("#command")
    shown_images = int(page.inner_text("#count-images"))
    shots(page, "export-page")

    with page.expect_download() as info:
        page.click("#download")
    download = info.value
    assert download.suggested_filename == f"{dataset.project.slug}-consensus-coco.json"
    coco = json.loads(Path(download.path()).read_text(encoding="utf-8"))
    assert [c["name"] for c in coco["categories"]] == ["car"]
    assert len(coco["images"]) == shown_images == 4
    assert {a["category_id"] for a in coco["annotations"]} == {1}  # ids 1..N in class order

    with page.expect_download() as info:
        page.click("#download-card-md")
    markdown = Path(info.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith(f"# Data card: {dataset.project.name}")
    assert "- classes: car" in markdown and "| truck |" not in markdown.split("## Boxes")[0]
    with page.expect_download() as info:
        page.click("#download-card-json")
    card = json.loads(Path(info.value.path()).read_text(encoding="utf-8"))
    assert card["images"]["exported"] == shown_images
    assert card["filters"]["classes"] == ["car"]
    assert "Per class" in page.inner_text("#datacard")
