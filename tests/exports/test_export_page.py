"""The Export page: the engineer's choices become the download link, the curl call, the
`manage.py export` command and the data card, all for the same filters."""

import html

import pytest

from quality.services.summary import project_summarize


def page_url(project, query=""):
    return f"/projects/{project.slug}/export/{query}"


def test_engineer_sees_links_commands_and_the_data_card_for_the_chosen_filters(
    client, engineer, dataset
):
    project_summarize(project=dataset.project)
    client.force_login(engineer)
    response = client.get(
        page_url(
            dataset.project,
            "?submitted=1&format=yolo&source=raw&classes=truck&min_agreement=0.5"
            "&complete_only=1&exclude_flagged=1",
        )
    )
    assert response.status_code == 200
    text = html.unescape(response.content.decode())
    pk, slug = dataset.project.pk, dataset.project.slug
    query = "format=yolo&source=raw&min_agreement=0.5&exclude_flagged=1&classes=truck"
    assert f'href="/api/projects/{pk}/export/?{query}"' in text
    assert f"http://testserver/api/projects/{pk}/export/?{query}" in text
    assert 'curl -fS -H "Authorization: Token $CONCORD_TOKEN"' in text
    assert (
        f"python manage.py export {slug} --format yolo --source raw --min-agreement 0.5 "
        f"--exclude-flagged --classes truck -o {slug}-raw-yolo.zip" in text
    )
    datacard = f"/api/projects/{pk}/datacard/?source=raw&min_agreement=0.5&exclude_flagged=1"
    assert f'href="{datacard}&classes=truck&format=md"' in text
    assert 'href="/api/docs/"' in text
    assert "Per class" in text  # the data card, rendered
    # What the page links to is what the API serves.
    assert client.get(f"/api/projects/{pk}/export/?{query}").status_code == 200


def test_unticked_boxes_mean_off_and_defaults_stay_out_of_the_query(client, engineer, dataset):
    client.force_login(engineer)
    text = html.unescape(client.get(page_url(dataset.project, "?submitted=1")).content.decode())
    pk = dataset.project.pk
    assert f'href="/api/projects/{pk}/export/?format=coco&source=consensus&complete_only=0"' in text
    assert "--all-images" in text
    first = html.unescape(client.get(page_url(dataset.project)).content.decode())
    assert f'href="/api/projects/{pk}/export/?format=coco&source=consensus"' in first


@pytest.mark.parametrize(
    ("query", "words"),
    [
        ("?classes=bus", "no class named bus"),
        ("?min_agreement=2", "from 0 to 1"),
        ("?min_instruction_version=4", "has no instructions yet"),
        ("?format=xml", "coco, yolo, voc, csv"),
    ],
)
def test_a_bad_filter_is_explained_on_the_page(client, engineer, dataset, query, words):
    client.force_login(engineer)
    response = client.get(page_url(dataset.project, query))
    assert response.status_code == 400
    assert words in html.unescape(response.content.decode())
    assert 'id="download"' not in response.content.decode()


def test_labelers_cannot_open_it_and_outsiders_do_not_see_the_project(
    client, dataset, labeler_a, outsider
):
    client.force_login(labeler_a)
    assert client.get(page_url(dataset.project)).status_code == 403
    client.force_login(outsider)
    assert client.get(page_url(dataset.project)).status_code == 404


def test_project_page_and_report_link_to_the_export_page(client, engineer, dataset):
    client.force_login(engineer)
    url = page_url(dataset.project)
    assert url in client.get(f"/projects/{dataset.project.slug}/").content.decode()
    assert url in client.get(f"/projects/{dataset.project.slug}/report/").content.decode()
