"""The lead's instructions editor, its preview and images, and the version history and diffs."""

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from projects.instructions import instructions_current
from projects.markdown import render_markdown
from projects.models import InstructionAsset, InstructionVersion
from projects.services import instruction_version_publish
from tests.images import png_bytes


def edit_url(project):
    return f"/projects/{project.slug}/instructions/edit/"


def publish(client, project, body, summary="", based_on=0):
    return client.post(edit_url(project), {"body": body, "summary": summary, "based_on": based_on})


def upload(client, project, data, name="example.png"):
    return client.post(
        f"/projects/{project.slug}/instructions/images/",
        {"image": SimpleUploadedFile(name, data, content_type="image/png")},
    )


def test_lead_writes_version_1_then_publishes_version_2_with_a_summary(client, project, lead):
    client.force_login(lead)
    assert client.get(edit_url(project)).status_code == 200
    response = publish(client, project, "# Box cars\n")
    assert response.status_code == 302
    v1 = InstructionVersion.objects.get(project=project)
    assert (v1.number, v1.summary, v1.author) == (1, "First version.", lead)
    page = client.get(edit_url(project)).content.decode()
    assert "# Box cars" in page and 'name="based_on" value="1"' in page
    response = publish(client, project, "# Box cars and vans\n", "Vans too.", based_on=1)
    assert response.status_code == 302
    assert instructions_current(project=project).number == 2
    assert instructions_current(project=project).summary == "Vans too."


@pytest.mark.parametrize(
    ("body", "summary", "based_on", "message"),
    [
        ("# Box cars\n", "Same text.", 1, "Nothing changed since version 1"),
        ("# Box trucks\n", "", 1, "Say what changed"),
        ("# Box trucks\n", "Trucks.", 0, "published version 1 while you were editing"),
        ("   ", "Empty.", 1, "cannot be empty"),
    ],
)
def test_editor_refuses_with_the_reason_and_keeps_the_text(
    client, project, lead, body, summary, based_on, message
):
    instruction_version_publish(project=project, author=lead, body="# Box cars\n")
    client.force_login(lead)
    response = publish(client, project, body, summary, based_on)
    assert response.status_code == 400
    page = response.content.decode()
    assert message in page
    assert summary in page
    assert project.instruction_versions.count() == 1


def test_preview_is_the_sanitised_render_labelers_see(client, project, lead):
    client.force_login(lead)
    body = "# Title\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) ![car](/a.png)"
    response = client.post(f"/projects/{project.slug}/instructions/preview/", {"body": body})
    assert response.status_code == 200
    html = response.json()["html"]
    assert html == str(render_markdown(body))
    assert "<script" not in html and "javascript:" not in html
    assert '<img alt="car" src="/a.png">' in html


@pytest.mark.parametrize("who", ["labeler_a", "engineer"])
def test_only_the_lead_edits_previews_and_uploads(client, project, request, who):
    client.force_login(request.getfixturevalue(who))
    assert client.get(edit_url(project)).status_code == 403
    assert publish(client, project, "# mine").status_code == 403
    preview = client.post(f"/projects/{project.slug}/instructions/preview/", {"body": "x"})
    assert preview.status_code == 403
    assert upload(client, project, png_bytes()).status_code == 403
    assert not project.instruction_versions.exists()


def test_outsiders_are_told_the_project_does_not_exist(client, project, outsider):
    client.force_login(outsider)
    assert client.get(edit_url(project)).status_code == 404
    assert client.get(f"/projects/{project.slug}/instructions/").status_code == 404


def test_an_uploaded_image_is_inserted_as_markdown_and_served_to_members_only(
    client, project, lead, labeler_a, outsider, other_project_labeler
):
    client.force_login(lead)
    response = upload(client, project, png_bytes(40, 30), name="van [cab].png")
    assert response.status_code == 201
    payload = response.json()
    asset = InstructionAsset.objects.get(pk=payload["id"])
    assert (asset.width, asset.height, asset.project) == (40, 30, project)
    assert payload["markdown"] == f"![van cab]({payload['url']})"
    # The same file again is the same asset.
    assert upload(client, project, png_bytes(40, 30)).json()["id"] == asset.pk

    client.force_login(labeler_a)
    served = client.get(payload["url"])
    assert served.status_code == 200
    assert served["Content-Type"] == "image/png"
    assert b"".join(served.streaming_content) == asset.file.open("rb").read()
    assert "img-src 'self'" in served["Content-Security-Policy"]
    for stranger in (outsider, other_project_labeler):
        client.force_login(stranger)
        assert client.get(payload["url"]).status_code == 404


def test_a_file_that_is_not_an_image_is_refused_with_the_reason(client, project, lead):
    client.force_login(lead)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'
    response = upload(client, project, svg, name="evil.svg")
    assert response.status_code == 400
    assert "evil.svg" in response.json()["detail"]
    assert "JPEG, PNG or WebP" in response.json()["detail"]
    missing = client.post(f"/projects/{project.slug}/instructions/images/")
    assert missing.status_code == 400
    assert not InstructionAsset.objects.exists()


def test_history_lists_versions_with_acknowledgements_and_diff_shows_changed_words(
    client, project, lead, labeler_a
):
    instruction_version_publish(project=project, author=lead, body="Vans are cars.\n")
    instruction_version_publish(
        project=project, author=lead, body="Vans are trucks.\n", summary="Vans moved."
    )
    client.force_login(lead)
    page = client.get(f"/projects/{project.slug}/instructions/").content.decode()
    assert "Version 2" in page and "Vans moved." in page
    assert "acknowledged by 0 of 1 labeler" in page
    client.force_login(labeler_a)  # labelers read the history too
    diff = client.get(f"/projects/{project.slug}/instructions/diff/?from=1&to=2")
    assert diff.status_code == 200
    html = diff.content.decode()
    assert "<del>cars</del>" in html and "<ins>trucks</ins>" in html
    assert "Vans moved." in html


@pytest.mark.parametrize("query", ["from=9&to=2", "from=x", "to=-1"])
def test_diff_of_a_version_that_does_not_exist_says_which_exist(client, project, lead, query):
    instruction_version_publish(project=project, author=lead, body="a")
    instruction_version_publish(project=project, author=lead, body="b")
    client.force_login(lead)
    response = client.get(f"/projects/{project.slug}/instructions/diff/?{query}")
    assert response.status_code == 400
    assert "this project has versions 1 to 2" in response.content.decode()


def test_project_page_and_settings_link_to_the_editor(client, project, lead):
    client.force_login(lead)
    page = client.get(f"/projects/{project.slug}/").content.decode()
    assert edit_url(project) in page and "Write the instructions" in page
    settings_page = client.get(f"/projects/{project.slug}/settings/").content.decode()
    assert edit_url(project) in settings_page and 'id="no-instructions"' in settings_page
