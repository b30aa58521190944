"""API errors are JSON with a `detail` a person can act on."""


def test_unknown_project_is_a_json_404(api, lead):
    response = api.as_user(lead).get("/api/projects/999999/")
    assert response.status_code == 404
    assert "no role in its project" in response.json()["detail"]


def test_wrong_method_is_a_json_405_listing_the_allowed_ones(api, lead, project):
    response = api.as_user(lead).delete(f"/api/projects/{project.pk}/")
    assert response.status_code == 405
    assert "Allowed: GET, PATCH" in response.json()["detail"]


def test_field_errors_become_one_sentence_and_keep_the_fields(api, lead, project):
    response = api.as_user(lead).post(
        f"/api/projects/{project.pk}/classes/", {"name": ""}, format="json"
    )
    assert response.status_code == 400
    body = response.json()
    assert body["detail"].startswith("name: ")
    assert "name" in body["errors"]


def test_service_validation_errors_are_400_with_the_services_message(api, lead, project, classes):
    response = api.as_user(lead).post(
        f"/api/projects/{project.pk}/classes/", {"name": "Car"}, format="json"
    )
    assert response.status_code == 400
    assert response.json()["detail"] == "name: The project already has a class named Car."


def test_anonymous_callers_are_told_how_to_authenticate(api, project):
    response = api.as_user(None).get(f"/api/projects/{project.pk}/export/")
    assert response.status_code == 401
    assert "Authorization: Token" in response.json()["detail"]


def test_a_bad_token_is_401_and_says_so(api, project):
    api.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = api.get(f"/api/projects/{project.pk}/")
    assert response.status_code == 401
    assert response.json()["detail"].startswith("This API token is not valid")
