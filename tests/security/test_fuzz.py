"""Every parameter of every page and API operation, sent hostile values as each kind of caller.

Issue #14, item 4: no value a client can send makes the server answer 5xx, and every API error is
JSON. The parameters are found, not listed by hand: a page's query parameters are those its view
reads (recorded while it renders) and those its links and GET forms carry; its form fields are
those of the forms it shows; an API operation's are those of the OpenAPI schema, plus the fields
of a valid body for it. test_schema.py fuzzes the API with schemathesis' generated values too;
here every parameter meets the same hostile corpus (tests/security/hostile.py), deterministically.
"""

import copy
import json
import re
import time
from urllib.parse import urlencode

import pytest
from django.http import QueryDict
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from quality.enqueue import recompute_start
from tests.factories import AnnotationFactory
from tests.security.hostile import (
    CORE,
    HOSTILE,
    HOSTILE_JSON,
    JSON_CORE,
    SHORT,
    hostile_json,
    page_parse,
    query_names,
    sample,
)
from tests.security.world import url_routes, world_build

ROLES = ("lead_a", "engineer", "labeler_a", "outsider", None)  # None: anonymous
# admin/: its own forms and permissions; api/: the schema-driven test below; media/: DEBUG only
SKIPPED = ("admin/", "api/", "media/", "accounts/logout/")
BUDGET_SECONDS = 60  # each test, on a busy 2-core machine
# A form's POST re-renders a whole page: its fields get fewer values than query parameters.
FORM_CORE = ("nul", "superscript two", "400 digits", "long")


@pytest.fixture
def world(db, empty_cache, django_capture_on_commit_callbacks):
    world = world_build()
    with django_capture_on_commit_callbacks(execute=True):
        world.run = recompute_start(project=world.a, reason="fuzz")
    world.draft = AnnotationFactory(image=world.images[1], labeler=world.users["labeler_a"])
    return world


class Calls:
    """Sends requests and keeps what went wrong: a 5xx anywhere, a non-JSON error under /api/."""

    def __init__(self):
        self.failures: list[str] = []
        self.count = 0
        self.started = time.perf_counter()

    def check(self, response, what: str) -> None:
        self.count += 1
        status = response.status_code
        if status >= 500:
            self.failures.append(f"{what} -> {status}")
            return
        content_type = response.get("Content-Type", "")
        api = response.wsgi_request.path.startswith("/api/")
        if status >= 400 and api and not content_type.startswith("application/json"):
            self.failures.append(f"{what} -> {status} {content_type}")

    def report(self) -> str:
        elapsed = time.perf_counter() - self.started
        print(f"{self.count} requests in {elapsed:.1f} s")
        failures = "\n".join(sorted(set(self.failures))[:60])
        assert not failures, failures
        assert elapsed < BUDGET_SECONDS, f"{self.count} requests took {elapsed:.0f} s"


def _shown(value: str) -> str:
    return repr(value if len(value) < 40 else value[:30] + f"…({len(value)})")


# -- pages -----------------------------------------------------------------------------------------


def _page_paths(world) -> list[str]:
    fill = {
        "slug": world.a.slug,
        "flag_id": world.flag.pk,
        "pattern_id": world.pattern.pk,
        "image_id": world.images[0].pk,
        "number": world.instruction.number,
        "asset_id": 999_999,
        "token": "not-a-token",
        "annotation_id": world.annotation_a.pk,
    }
    return [
        "/" + re.sub(r"<(?:\w+:)?(\w+)>", lambda m: str(fill[m.group(1)]), route)
        for route, _name in url_routes()
        if not route.startswith(SKIPPED)
    ]


def _client(client, world, role):
    client.raise_request_exception = False  # a 500 is collected, not raised
    client.logout()
    if role:
        client.force_login(world.users[role])
    return client


@pytest.fixture
def reads(monkeypatch):
    """The names a view looks up in request.GET / request.POST while it answers."""
    names: set[str] = set()
    for method in ("get", "getlist", "__getitem__", "__contains__"):
        original = getattr(QueryDict, method)

        def recorded(self, key, *args, _original=original, **kwargs):
            names.add(key)
            return _original(self, key, *args, **kwargs)

        monkeypatch.setattr(QueryDict, method, recorded)
    return names


def _discover(client, world, reads) -> tuple[dict[str, set[str]], dict]:
    """Per page: the query parameters it reads or links to; and its POST forms, per role."""
    paths = _page_paths(world)
    params: dict[str, set[str]] = {path: set() for path in paths}
    forms = {}
    for role in ("lead_a", "labeler_a", "engineer", None):
        _client(client, world, role)
        for path in paths:
            reads.clear()
            response = client.get(path)
            params[path] |= reads
            if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
                continue
            page = page_parse(response.content.decode())
            for link in page.links + [f.action + "?" for f in page.forms if f.method == "get"]:
                target, names = query_names(link)
                params.get(target or path, set()).update(names)
            for form in page.forms:
                if form.method == "get":
                    params[form.action or path] = params.get(form.action or path, set()) | set(
                        form.fields
                    )
                elif "logout" not in form.action:
                    forms.setdefault((role, form.action or path), []).append(form)
    return params, forms


def test_every_page_parameter_and_form_field_survives_hostile_values(world, client, reads):
    params, forms = _discover(client, world, reads)
    # The discovery works: it sees the flag queue's filters and the settings page's forms.
    assert {"kind", "status", "labeler", "label_class", "page"} <= params[
        f"/projects/{world.a.slug}/flags/"
    ]
    settings_forms = forms[("lead_a", f"/projects/{world.a.slug}/settings/")]
    assert {"class", "project", "upload"} <= {f.fields.get("action") for f in settings_forms}
    calls = Calls()
    for role in ROLES:
        _client(client, world, role)
        for path, names in params.items():
            if path.startswith("/api/") or not names:
                continue
            if role != "lead_a":  # the role check comes first: all parameters at once
                for label in SHORT:
                    response = client.get(path, dict.fromkeys(names, HOSTILE[label]))
                    calls.check(response, f"{role} GET {path} every parameter {label}")
                continue
            for name in sorted(names):
                for label, value in sample(HOSTILE, CORE, name, 2).items():
                    response = client.get(path, {name: value})
                    calls.check(response, f"{role} GET {path}?{name}={_shown(value)} ({label})")
            response = client.get(path, {HOSTILE["nul"]: "1", HOSTILE["long"]: "1"})
            calls.check(response, f"{role} GET {path} with hostile names")

    seen = set()
    for (role, action), page_forms in forms.items():
        _client(client, world, role)
        for form in _distinct(page_forms, seen, action):
            buttons = form.buttons[:1] or [("", "")]
            base = dict(form.fields) | ({buttons[0][0]: buttons[0][1]} if buttons[0][0] else {})
            for name in sorted(base):
                for label, value in sample(HOSTILE, FORM_CORE, f"{action} {name}", 1).items():
                    data = base | {name: value}
                    response = client.post(action, data)
                    calls.check(
                        response,
                        f"{role} POST {action} {base.get('action', '')} {name}={_shown(value)} ({label})",
                    )
    calls.report()


def _distinct(forms, seen: set, action: str):
    """One form of each kind: the settings page repeats the same forms for every class, and
    every role sees the same login form."""
    for form in forms:
        kind = (
            action,
            form.fields.get("action"),
            tuple(sorted(form.fields)),
            tuple(form.buttons[:1]),
        )
        if kind not in seen:
            seen.add(kind)
            yield form


# -- API -------------------------------------------------------------------------------------------


def _api(world, role) -> APIClient:
    client = APIClient(raise_request_exception=False)  # a 500 is collected, not raised
    if role:
        client.force_authenticate(world.users[role])
    return client


def _base_bodies(world) -> dict[tuple[str, str], dict]:
    """A valid body per write operation: the hostile value replaces one field at a time."""
    car = world.a.classes.order_by("pk").first()
    box = {"x": 10, "y": 10, "width": 20, "height": 20, "label_class": car.pk}
    return {
        ("POST", "/api/auth/token/"): {"username": "lead_a", "password": "wrong"},
        ("POST", "/api/projects/"): {"name": "Fuzzed", "labelers_per_image": 2},
        ("PATCH", "/api/projects/{project_id}/"): {"name": "Streets A", "match_iou": 0.5},
        ("POST", "/api/projects/{project_id}/classes/"): {"name": "bus", "hotkey": "7"},
        ("POST", "/api/projects/{project_id}/instructions/"): {"body": "Box.", "summary": "s"},
        ("POST", "/api/projects/{project_id}/members/"): {
            "username": "outsider",
            "role": "labeler",
        },
        ("PUT", "/api/annotations/{annotation_id}/"): {"boxes": [box], "active_seconds": 3},
        ("POST", "/api/patterns/{pattern_id}/act/"): {"action": "feedback", "note": "n"},
        ("PATCH", "/api/flags/{flag_id}/"): {
            "resolution": "adjudicated",
            "note": "n",
            "accepted_labeler": world.users["labeler_a"].pk,
            "boxes": [box],
        },
    }


def _writer(path: str) -> str | None:
    if path == "/api/auth/token/":
        return None
    if path.startswith("/api/annotations/") or path.endswith(("/queue/next/", "/acknowledge/")):
        return "labeler_a"
    return "lead_a"


def _leaves(value, path=()):
    """Paths to every value in a body, containers included (a list can be replaced too)."""
    yield path
    if isinstance(value, dict):
        for key, inner in value.items():
            yield from _leaves(inner, (*path, key))
    elif isinstance(value, list):
        for index, inner in enumerate(value):
            yield from _leaves(inner, (*path, index))


MARK = "\u0001hostile\u0001"


def _with(body, path, raw: str) -> str:
    body = copy.deepcopy(body)
    if not path:
        return raw
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = MARK
    return json.dumps(body).replace(json.dumps(MARK), raw)


def test_every_api_parameter_and_body_field_survives_hostile_values(world):
    schema = SchemaGenerator().get_schema(request=None, public=True)
    ids = {
        "project_id": world.a.pk,
        "flag_id": world.flag.pk,
        "pattern_id": world.pattern.pk,
        "annotation_id": world.draft.pk,
        "number": world.instruction.number,
        "run_id": world.run.pk,
        "user_id": world.users["labeler_a"].pk,
    }
    bases = _base_bodies(world)
    calls = Calls()
    operations = 0
    for template, item in schema["paths"].items():
        url = template.format(**ids)
        for method, operation in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            operations += 1
            method = method.upper()
            query = [p["name"] for p in operation.get("parameters", []) if p["in"] == "query"]
            for role in ROLES:
                client = _api(world, role)
                if role not in ("lead_a", _writer(template)):  # all parameters at once
                    for label in SHORT if query else ():
                        hostile = urlencode(dict.fromkeys(query, HOSTILE[label]))
                        response = client.generic(method, f"{url}?{hostile}")
                        calls.check(response, f"{role} {method} {url} every parameter {label}")
                    continue
                for name in query:
                    for label, value in sample(HOSTILE, CORE, f"{template} {name}").items():
                        response = client.generic(method, f"{url}?{urlencode({name: value})}")
                        calls.check(
                            response, f"{role} {method} {url}?{name}={_shown(value)} ({label})"
                        )
            if method == "GET":
                continue
            base = bases.get((method, template), {})
            fields = set(_leaves(base)) | {(name,) for name in _body_properties(schema, operation)}
            client = _api(world, _writer(template))
            for field in sorted(fields, key=str):
                for label in sample(HOSTILE_JSON, JSON_CORE, f"{template} {field}"):
                    body = _with(base, field, hostile_json(label))
                    response = client.generic(method, url, body, content_type="application/json")
                    calls.check(response, f"{method} {url} {'.'.join(map(str, field))}={label}")
    assert operations >= 25
    calls.report()


def _body_properties(schema, operation) -> list[str]:
    content = operation.get("requestBody", {}).get("content", {})
    body = content.get("application/json", {}).get("schema", {})
    ref = body.get("$ref", "")
    if ref:
        body = schema["components"]["schemas"][ref.rsplit("/", 1)[-1]]
    return list(body.get("properties", {}))
