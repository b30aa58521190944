import pytest

from tests.factories import PASSWORD


def test_login_page_renders(client, db):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert b"Log in to Concord" in response.content


def test_anonymous_home_redirects_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_home_lists_my_projects_with_my_role(client, project, labeler_a, outsider):
    assert client.login(username="labeler_a", password=PASSWORD)
    response = client.get("/")
    assert project.name.encode() in response.content
    assert b"Labeler" in response.content
    client.logout()
    client.login(username="outsider", password=PASSWORD)
    assert project.name.encode() not in client.get("/").content


def test_project_page_is_hidden_from_outsiders(client, project, outsider, labeler_a):
    client.force_login(outsider)
    assert client.get(project.get_absolute_url()).status_code == 404
    client.force_login(labeler_a)
    assert client.get(project.get_absolute_url()).status_code == 200


def test_image_file_is_served_to_members_only(client, project, labeler_a, outsider):
    from tests.factories import ImageFactory

    image = ImageFactory(project=project)
    url = f"/projects/{project.slug}/images/{image.pk}/file/"
    client.force_login(outsider)
    assert client.get(url).status_code == 404
    client.force_login(labeler_a)
    response = client.get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"


def test_logout_works(client, labeler_a):
    client.force_login(labeler_a)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302


def test_api_projects_lists_callers_projects_with_role(client, project, engineer):
    client.force_login(engineer)
    body = client.get("/api/projects/").json()
    assert body["count"] == 1 and body["results"][0]["role"] == "engineer"


def test_api_token_auth(client, project, engineer):
    token = client.post("/api/auth/token/", {"username": "engineer", "password": PASSWORD}).json()
    assert "token" in token
    response = client.get(
        f"/api/projects/{project.pk}/", HTTP_AUTHORIZATION=f"Token {token['token']}"
    )
    assert response.status_code == 200 and response.json()["id"] == project.pk


def test_api_project_is_404_for_outsiders(client, project, outsider):
    client.force_login(outsider)
    assert client.get(f"/api/projects/{project.pk}/").status_code == 404


def test_health(client, db):
    assert client.get("/health/").json() == {"status": "ok"}


@pytest.mark.parametrize("method", ["put", "patch", "delete"])
def test_read_only_pages_refuse_write_methods_with_405(client, project, lead, labeler_a, method):
    from tests.factories import ImageFactory

    image = ImageFactory(project=project)
    slug = project.slug
    pages = {
        "/": lead,
        f"/projects/{slug}/": lead,
        f"/projects/{slug}/images/{image.pk}/file/": lead,
        f"/projects/{slug}/report/": lead,
        f"/projects/{slug}/flags/": lead,
        f"/projects/{slug}/label/": labeler_a,
        f"/projects/{slug}/my-work/": labeler_a,
    }
    for url, user in pages.items():
        client.force_login(user)
        assert getattr(client, method)(url).status_code == 405, url
        assert client.get(url).status_code == 200, url
