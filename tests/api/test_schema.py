"""The OpenAPI schema: generated without warnings for these endpoints, valid, and fuzzed.

The schemathesis run sends up to 10 generated requests per operation (deterministic: hypothesis
derandomized), authenticated as the project's lead, and fails on any 5xx.
"""

import io

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from hypothesis import HealthCheck, given, settings
from rest_framework.authtoken.models import Token

from tests.exports.conftest import label
from tests.factories import ImageFactory

MY_FILES = ("projects/api.py", "exports/", "concord/exceptions.py")
MAX_EXAMPLES = 10


def test_schema_generates_and_validates_without_warnings_from_these_endpoints(capsys):
    out = io.StringIO()
    call_command("spectacular", "--validate", "--file", "/dev/null", stdout=out, stderr=out)
    report = out.getvalue() + capsys.readouterr().err
    mine = [line for line in report.splitlines() if any(f in line for f in MY_FILES)]
    assert mine == []


def test_schema_documents_auth_tags_and_export_examples(client):
    schema = client.get("/api/schema/?format=json").json()
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    export = schema["paths"]["/api/projects/{project_id}/export/"]["get"]
    assert export["tags"] == ["exports"]
    params = {p["name"]: p for p in export["parameters"]}
    assert set(params["format"]["schema"]["enum"]) == {"coco", "yolo", "voc", "csv"}
    assert "examples" in export["responses"]["400"]["content"]["application/json"]


@pytest.fixture
def wsgi_in_test_transaction():
    """Call the WSGI app in-process inside the test's transaction (as Django's test client does)."""
    from concord.wsgi import application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


def test_schemathesis_finds_no_server_error(
    wsgi_in_test_transaction, project, classes, lead, labeler_a, labeler_b
):
    image = ImageFactory(project=project)
    label(image, labeler_a, [(classes[0], 10, 10, 50, 40)])
    label(image, labeler_b, [(classes[0], 12, 10, 50, 40)])
    token = Token.objects.create(user=lead).key
    auth = {"Authorization": f"Token {token}"}
    schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", wsgi_in_test_transaction)
    failures = []
    statuses: dict[int, int] = {}
    operations = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        operations += 1
        names = {p.name for p in operation.path_parameters}
        fixed = {"project_id": project.pk} if "project_id" in names else None

        @settings(
            max_examples=MAX_EXAMPLES,
            derandomize=True,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(path_parameters=fixed))
        def call(case):
            response = case.call(headers=auth)
            statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(
                    f"{case.method} {case.formatted_path} {case.query} -> {response.status_code}"
                )

        call()
    assert operations >= 15
    print(operations, "operations", statuses)
    assert statuses.get(200, 0) + statuses.get(201, 0) >= 2 * operations  # not all refused
    assert failures == []
