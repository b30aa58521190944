"""New instructions published while a labeler has an image open: submitting is refused with a way
to read them, the boxes stay, and after acknowledging the same draft is submitted."""

import pytest

from annotations.models import Annotation
from projects.services import instruction_acknowledge, instruction_version_publish
from tests.browser.conftest import screenshot
from tests.browser.labeling_helpers import Labeler, scene_image
from tests.factories import PASSWORD, InstructionVersionFactory, LabelClassFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_submitting_under_superseded_instructions_points_to_the_new_version(
    page, login, project, lead, labeler_a
):
    LabelClassFactory(project=project, name="car", hotkey="1", order=0)
    version_1 = InstructionVersionFactory(project=project, author=lead, number=1, body="Box cars.")
    instruction_acknowledge(user=labeler_a, version=version_1)
    scene_image(project, objects=[(120, 140, 260, 180)], name="street.png")
    login("labeler_a", PASSWORD)
    page.goto(f"/projects/{project.slug}/label/")
    labeler = Labeler(page)
    labeler.wait_ready()
    draft_id = int(page.locator("#stage").get_attribute("data-annotation"))
    labeler.drag_box(120, 140, 260, 180)
    labeler.wait_saved()

    instruction_version_publish(project=project, author=lead, body="Box cars and vans.")
    labeler.key("Enter")
    link = page.wait_for_selector("#read-instructions")
    notice = page.locator("#notice").inner_text()
    assert "version 2" in notice and "your boxes are saved" in notice
    assert "Read version 2" in link.inner_text()
    screenshot(page, "labeling-new-instructions")
    draft = Annotation.objects.get(pk=draft_id)
    assert draft.status == "draft" and draft.boxes.count() == 1

    link.click()
    page.wait_for_url(f"**/projects/{project.slug}/")
    page.click("#acknowledge")
    page.wait_for_url(f"**/projects/{project.slug}/label/")
    labeler.wait_ready()
    assert int(page.locator("#stage").get_attribute("data-annotation")) == draft_id
    labeler.key("Enter")
    page.wait_for_selector("#stage-empty:not([hidden])")
    draft.refresh_from_db()
    assert draft.status == "submitted" and draft.instruction_version.number == 2
