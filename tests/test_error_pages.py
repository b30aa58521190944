"""403 and 404 pages: the site's layout, the reason the server knows, in every DEBUG mode."""

import pytest


@pytest.fixture(params=[False, True], ids=["production", "debug"])
def debug(request, settings):
    settings.DEBUG = request.param
    return request.param


def _page(response) -> str:
    body = response.content.decode()
    assert response["Content-Type"].startswith("text/html")
    assert 'class="topbar"' in body  # the site's layout (templates/base.html)
    assert '<link rel="icon" href="/static/favicon.svg"' in body
    return body


def test_a_member_without_the_role_gets_a_page_saying_why(client, project, labeler_a, debug):
    client.force_login(labeler_a)
    response = client.get(f"/projects/{project.slug}/settings/")
    assert response.status_code == 403
    body = _page(response)
    assert f"Your role in {project.name} does not allow this" in body
    assert "Traceback" not in body and "Request Method" not in body
    assert 'href="/"' in body


def test_an_outsider_gets_the_site_404_with_its_reason(client, project, outsider, debug):
    client.force_login(outsider)
    response = client.get(f"/projects/{project.slug}/")
    assert response.status_code == 404
    body = _page(response)
    assert "No such project." in body
    assert "Using the URLconf" not in body  # not Django's debug page, even under DEBUG


def test_an_unknown_address_gets_the_site_404(client, labeler_a, debug):
    client.force_login(labeler_a)
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    body = _page(response)
    assert "There is no page at this address." in body
    assert "Using the URLconf" not in body


def test_a_lookup_message_meant_for_developers_is_not_shown(client, labeler_a, project, debug):
    client.force_login(labeler_a)
    response = client.get(f"/projects/{project.slug}/images/999999/file/")
    assert response.status_code == 404
    body = _page(response)
    assert "matches the given query" not in body


def test_a_missing_slash_still_redirects(client, labeler_a, project):
    client.force_login(labeler_a)
    response = client.get(f"/projects/{project.slug}")
    assert response.status_code == 301
    assert response["Location"] == f"/projects/{project.slug}/"


def test_api_errors_stay_json(client, project, labeler_a, debug):
    client.force_login(labeler_a)
    assert client.get("/api/no-such-endpoint/").json()["detail"].startswith("No API endpoint")
    response = client.get(f"/api/projects/{project.pk}/flags/")
    assert response.status_code == 403
    assert "detail" in response.json()


def test_the_favicon_is_served(client, db):
    response = client.get("/favicon.ico")
    assert response.status_code in (301, 302)
    assert response["Location"].endswith("/static/favicon.svg")


def test_a_stale_form_gets_the_site_403(client, labeler_a):
    csrf_client = client.__class__(enforce_csrf_checks=True)
    csrf_client.force_login(labeler_a)
    response = csrf_client.post("/accounts/logout/")
    assert response.status_code == 403
    body = _page(response)
    assert "reload the page" in body
