"""The OpenAPI schema: generated without warnings for these endpoints, valid, and fuzzed.

The schemathesis run (issue #8, item 6) sends, per operation, POSITIVE_EXAMPLES requests that
follow the schema and NEGATIVE_EXAMPLES that break it (deterministic: hypothesis derandomized).
Path ids are those of real objects (the project, one of its flags, runs and instruction versions,
the labeler's own draft), so the calls reach the views instead of stopping at 404. Labeling
operations go as a labeler of the project, everything else as its lead (the role that may do the
most). Every response must be no 5xx, and every documented response must match its schema.
"""

import io
import time

import pytest
import schemathesis
from django.core import signals
from django.core.management import call_command
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, Phase, given, settings
from rest_framework.authtoken.models import Token
from schemathesis import GenerationMode
from schemathesis import checks as st_checks
from schemathesis.core.failures import Failure, FailureGroup

from projects.services import instruction_acknowledge, instruction_version_publish
from quality.enqueue import recompute_start
from quality.models import Flag, Pattern
from tests.cache import cache_empty
from tests.exports.conftest import label
from tests.factories import AnnotationFactory, ImageFactory

MY_FILES = (
    "projects/api.py",
    "projects/image_api.py",
    "annotations/api.py",
    "exports/",
    "concord/exceptions.py",
)
POSITIVE_EXAMPLES = 30
NEGATIVE_EXAMPLES = 10
CHECKS = [
    st_checks.not_a_server_error,
    st_checks.response_schema_conformance,
    st_checks.content_type_conformance,
]


def test_schema_generates_and_validates_without_warnings_from_these_endpoints(capsys):
    out = io.StringIO()
    call_command("spectacular", "--validate", "--file", "/dev/null", stdout=out, stderr=out)
    report = out.getvalue() + capsys.readouterr().err
    mine = [line for line in report.splitlines() if any(f in line for f in MY_FILES)]
    assert mine == []


def test_schema_documents_auth_tags_and_export_examples(client, lead):
    client.force_login(lead)
    schema = client.get("/api/schema/?format=json").json()
    assert {"tokenAuth", "cookieAuth"} <= set(schema["components"]["securitySchemes"])
    export = schema["paths"]["/api/projects/{project_id}/export/"]["get"]
    assert export["tags"] == ["exports"]
    params = {p["name"]: p for p in export["parameters"]}
    assert set(params["format"]["schema"]["enum"]) == {"coco", "yolo", "voc", "csv"}
    assert "examples" in export["responses"]["400"]["content"]["application/json"]


def test_export_and_datacard_parameters_carry_no_example_values_swagger_would_prefill(client, lead):
    """Swagger UI's "Try it out" fills a parameter with its example: classes=car,truck would be a
    400 on most projects and silently narrow the demo's export."""
    client.force_login(lead)
    schema = client.get("/api/schema/?format=json").json()
    for path in ("/api/projects/{project_id}/export/", "/api/projects/{project_id}/datacard/"):
        for param in schema["paths"][path]["get"]["parameters"]:
            assert "example" not in param and "examples" not in param, (path, param["name"])
            assert "example" not in param["schema"], (path, param["name"])


@pytest.fixture
def wsgi_in_test_transaction():
    """Call the WSGI app in-process inside the test's transaction (as Django's test client does)."""
    from concord.wsgi import application

    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield application
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)
    cache_empty()  # the fuzzed logins' failure counts must not lock out later tests


@pytest.fixture
def fuzz_world(project, classes, lead, labeler_a, labeler_b, django_capture_on_commit_callbacks):
    """Real ids for every path parameter, and a token for each of the two callers."""
    car, truck = classes
    conflict = ImageFactory(project=project)
    label(conflict, labeler_a, [(car, 10, 10, 50, 40)])
    label(conflict, labeler_b, [(truck, 12, 10, 50, 40)])
    with django_capture_on_commit_callbacks(execute=True):
        run = recompute_start(project=project, reason="fuzz")  # eager: flags now exist
    version = instruction_version_publish(project=project, author=lead, body="Box every car.")
    instruction_acknowledge(user=labeler_a, version=version)
    draft = AnnotationFactory(image=ImageFactory(project=project), labeler=labeler_a)
    ids = {
        "project_id": project.pk,
        "flag_id": Flag.objects.filter(project=project).values_list("pk", flat=True).first(),
        "run_id": run.pk,
        "pattern_id": Pattern.objects.create(
            project=project,
            labeler=labeler_b,
            kind="class_confusion",
            label_class=car,
            other_class=truck,
            key="class_confusion:fuzz",
            strength=0.5,
            ci_low=0.3,
            ci_high=0.7,
            support=40,
            size="calls 50% of car objects truck",
            example_flag_ids=[],
            computed_at=timezone.now(),
        ).pk,  # fmt: skip
        "number": version.number,
        "annotation_id": draft.pk,
        "user_id": labeler_a.pk,
    }
    assert None not in ids.values()
    tokens = {
        "lead": Token.objects.create(user=lead),
        "labeler": Token.objects.create(user=labeler_a),
    }
    return ids, tokens


def _caller(path: str) -> str:
    labeling = path.startswith("/api/annotations/") or path.endswith(
        ("/queue/next/", "/acknowledge/")
    )
    return "labeler" if labeling else "lead"


def test_schemathesis_finds_no_server_error_and_responses_match_the_schema(
    wsgi_in_test_transaction, fuzz_world
):
    ids, tokens = fuzz_world
    schema = schemathesis.openapi.from_wsgi(
        "/api/schema/?format=json",
        wsgi_in_test_transaction,
        headers={"Authorization": f"Token {tokens['lead']}"},
    )
    operations = [result.ok() for result in schema.get_all_operations()]
    # The labeler's operations first: the lead's fuzzed writes (new instruction versions,
    # labelers per image) would otherwise turn most of them into 409s.
    # /api/auth/token/ last: its POST and DELETE replace and revoke the caller's token.
    operations.sort(key=lambda op: (op.path == "/api/auth/token/", _caller(op.path) != "labeler"))
    failures: list[str] = []
    statuses: dict[int, int] = {}
    started, cpu = time.perf_counter(), time.process_time()
    for operation in operations:
        fixed = {p.name: ids[p.name] for p in operation.path_parameters if p.name in ids}
        assert len(fixed) == len(list(operation.path_parameters)), operation.label
        auth = {"Authorization": f"Token {tokens[_caller(operation.path)].key}"}
        modes = [(GenerationMode.POSITIVE, POSITIVE_EXAMPLES)]
        if _has_inputs(operation):  # else hypothesis finds no way to break the request
            modes.append((GenerationMode.NEGATIVE, NEGATIVE_EXAMPLES))
        for mode, examples in modes:
            _tokens_restore(tokens)
            _fuzz(operation, mode, examples, fixed, auth, failures, statuses)
    elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
    print(
        f"{len(operations)} operations, {elapsed:.1f} s ({cpu:.1f} s CPU), {sorted(statuses.items())}"
    )
    assert len(operations) >= 25
    assert statuses.get(200, 0) + statuses.get(201, 0) >= 5 * len(operations)  # not all refused
    assert not failures, "\n".join(sorted(set(failures)))


def _tokens_restore(tokens: dict) -> None:
    """Give each caller back its token, which the fuzzed POST and DELETE /api/auth/token/ replace."""
    for token in tokens.values():
        Token.objects.filter(user_id=token.user_id).exclude(key=token.key).delete()
        Token.objects.get_or_create(key=token.key, defaults={"user_id": token.user_id})


def _has_inputs(operation) -> bool:
    """A body or a query parameter: something a request can get wrong besides fixed path ids."""
    query = any(p.location.value == "query" for p in operation.iter_parameters())
    return query or len(operation.body) > 0


def _fuzz(operation, mode, examples, fixed, auth, failures, statuses) -> None:
    @settings(
        max_examples=examples,
        derandomize=True,
        deadline=None,
        database=None,
        phases=[Phase.generate],  # failures are collected, never raised: nothing to shrink
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode, path_parameters=fixed, headers=auth))
    def call(case):
        response = case.call()
        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as exc:
            for failure in getattr(exc, "exceptions", [exc]):
                failures.append(
                    f"{mode.value} {operation.label} -> {response.status_code}: "
                    f"{getattr(failure, 'title', failure)} {getattr(failure, 'message', '')[:700]}"
                )

    call()


def test_schema_and_docs_need_a_token_or_a_session(client, lead):
    response = client.get("/api/schema/")
    assert response.status_code == 401
    assert response["Content-Type"] == "application/json"
    assert "Authorization: Token" in response.json()["detail"]
    response = client.get("/api/docs/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/?next=/api/docs/"

    token = Token.objects.create(user=lead)
    by_token = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert client.get("/api/schema/?format=json", **by_token).status_code == 200
    client.force_login(lead)
    assert client.get("/api/schema/?format=json").status_code == 200
    assert client.get("/api/docs/").status_code == 200
