"""Every URL of the site and the API, called as every kind of actor: one table of expectations.

The table is checked against the URL conf and the OpenAPI schema, so a new endpoint fails
`test_every_endpoint_is_in_the_table` until someone decides who may call it. Write methods are
sent with an empty body: the role check must come before validation, so a member without the
capability gets 403 (never 400 or 2xx) and a stranger 404. No cell may answer 500.
"""

import re
from io import BytesIO

import pytest
from rest_framework.test import APIClient

from projects.services import instruction_asset_add
from tests.cache import cache_empty
from tests.images import png_bytes
from tests.security.world import (
    B_BOXES,
    schema_operations,
    url_routes,
    world_build,
)

ACTORS = ("anonymous", "outsider", "labeler_a", "other", "engineer", "lead_a", "lead_b")
# other = a labeler of project B; lead_b = the lead of project B. Everything below is project A's.

OK = "ok"  # 200/201/202/204, or a redirect that is not to the login page
WRITE = "write"  # OK, or 400: an empty body is refused by validation, after the role check
LOGIN = "login"  # 302 to the login page (pages, anonymous)
UNAUTH = "401"  # API, anonymous: how to authenticate
DENIED = "403"  # a member without the capability
HIDDEN = "404"  # not a member: the project does not exist for them

# (method, path, expected per actor in ACTORS order)
TABLE = [
    # Site pages
    ("GET", "/", (LOGIN, OK, OK, OK, OK, OK, OK)),
    ("GET", "/health/", (OK, OK, OK, OK, OK, OK, OK)),
    ("GET", "/favicon.ico", (OK, OK, OK, OK, OK, OK, OK)),
    ("GET", "/accounts/login/", (OK, OK, OK, OK, OK, OK, OK)),
    ("POST", "/accounts/login/", (OK, OK, OK, OK, OK, OK, OK)),  # form shown again with errors
    ("GET", "/accounts/token/", (LOGIN, OK, OK, OK, OK, OK, OK)),
    ("POST", "/accounts/token/", (LOGIN, OK, OK, OK, OK, OK, OK)),  # the caller's own token only
    ("GET", "/projects/new/", (LOGIN, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED)),
    ("POST", "/projects/new/", (LOGIN, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED)),
    ("GET", "/projects/{slug}/", (LOGIN, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/settings/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/projects/{slug}/settings/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("GET", "/projects/{slug}/people/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/projects/{slug}/people/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("GET", "/projects/{slug}/people/users/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    # an invitation link is open to whoever holds it; a wrong token is gone for everyone
    ("GET", "/invitations/{token}/", ("410", "410", "410", "410", "410", "410", "410")),
    ("POST", "/invitations/{token}/", ("410", "410", "410", "410", "410", "410", "410")),
    ("GET", "/projects/{slug}/images/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/images/{image_id}/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/images/{image_id}/thumb/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/images/{image_id}/delete/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("GET", "/projects/{slug}/images/{image_id}/file/", (LOGIN, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    # labeler_a has not acknowledged the instructions yet: the label page sends them to read them
    ("GET", "/projects/{slug}/label/", (LOGIN, HIDDEN, OK, HIDDEN, DENIED, DENIED, HIDDEN)),
    ("GET", "/projects/{slug}/my-work/", (LOGIN, HIDDEN, OK, HIDDEN, DENIED, DENIED, HIDDEN)),
    # any member may acknowledge having read the instructions (it writes only their own receipt)
    ("POST", "/projects/{slug}/instructions/{number}/acknowledge/", (LOGIN, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    # instructions: every member reads the versions, their diffs and their images; leads write
    ("GET", "/projects/{slug}/instructions/", (LOGIN, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/instructions/diff/", (LOGIN, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/instructions/images/{asset_id}/", (LOGIN, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/instructions/edit/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/projects/{slug}/instructions/edit/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("POST", "/projects/{slug}/instructions/preview/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/projects/{slug}/instructions/images/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/projects/{slug}/export/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/import/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/projects/{slug}/import/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/projects/{slug}/report/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/flags/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/projects/{slug}/flags/{flag_id}/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/projects/{slug}/flags/{flag_id}/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/projects/{slug}/flags/image/{image_id}/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/projects/{slug}/flags/image/{image_id}/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("POST", "/projects/{slug}/patterns/{pattern_id}/act/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("GET", "/projects/{slug}/patterns/{pattern_id}/instructions/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/projects/{slug}/patterns/{pattern_id}/instructions/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/projects/{slug}/flags/{flag_id}/instructions/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/projects/{slug}/flags/{flag_id}/instructions/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    # the gold page: engineers read, leads change; labelers never learn which images are gold
    ("GET", "/projects/{slug}/gold/", (LOGIN, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/projects/{slug}/gold/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/projects/{slug}/images/{image_id}/gold/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    # feedback on one's own gold answer; annotation_id is a regular image: none, as for anyone
    ("GET", "/projects/{slug}/feedback/{annotation_id}/", (LOGIN, HIDDEN, HIDDEN, HIDDEN, DENIED, DENIED, HIDDEN)),
    # API: documentation and authentication
    ("GET", "/api/schema/", (UNAUTH, OK, OK, OK, OK, OK, OK)),
    ("GET", "/api/docs/", (LOGIN, OK, OK, OK, OK, OK, OK)),
    # without username and password: anonymous callers are told to send them; others get a new key
    ("POST", "/api/auth/token/", ("400", OK, OK, OK, OK, OK, OK)),
    ("GET", "/api/auth/token/", (UNAUTH, OK, OK, OK, OK, OK, OK)),
    ("DELETE", "/api/auth/token/", (UNAUTH, OK, OK, OK, OK, OK, OK)),
    # API: projects (creating one is for staff, none of these actors)
    ("GET", "/api/projects/", (UNAUTH, OK, OK, OK, OK, OK, OK)),
    ("POST", "/api/projects/", (UNAUTH, DENIED, DENIED, DENIED, DENIED, DENIED, DENIED)),
    ("GET", "/api/projects/{project_id}/", (UNAUTH, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    ("PATCH", "/api/projects/{project_id}/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/projects/{project_id}/classes/", (UNAUTH, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/classes/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/projects/{project_id}/instructions/", (UNAUTH, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/instructions/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("POST", "/api/projects/{project_id}/instructions/{number}/acknowledge/", (UNAUTH, HIDDEN, OK, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/api/projects/{project_id}/members/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/members/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/projects/{project_id}/images/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/images/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("POST", "/api/projects/{project_id}/images/register/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/projects/{project_id}/annotations/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    # API: labeling (labelers only; annotation_id is labeler_a's own; others' are hidden)
    ("POST", "/api/projects/{project_id}/queue/next/", (UNAUTH, HIDDEN, OK, HIDDEN, DENIED, DENIED, HIDDEN)),
    ("GET", "/api/projects/{project_id}/queue/", (UNAUTH, HIDDEN, OK, HIDDEN, DENIED, DENIED, HIDDEN)),
    ("GET", "/api/annotations/{annotation_id}/", (UNAUTH, HIDDEN, OK, HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
    ("PUT", "/api/annotations/{annotation_id}/", (UNAUTH, HIDDEN, WRITE, HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
    ("POST", "/api/annotations/{annotation_id}/submit/", (UNAUTH, HIDDEN, WRITE, HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
    ("GET", "/api/annotations/{annotation_id}/feedback/", (UNAUTH, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN, HIDDEN)),
    # API: results (engineers and leads read, leads resolve)
    ("GET", "/api/projects/{project_id}/agreement/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/agreement/recompute/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/runs/{run_id}/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/api/runs/{run_id}/objects/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/api/projects/{project_id}/flags/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/flags/bulk/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/flags/{flag_id}/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("PATCH", "/api/flags/{flag_id}/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/projects/{project_id}/patterns/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/api/patterns/{pattern_id}/act/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    # API: exports
    ("GET", "/api/projects/{project_id}/export/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("GET", "/api/projects/{project_id}/datacard/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    # API: gold images and labelers' standings (labelers never; engineers read; leads write)
    ("GET", "/api/projects/{project_id}/gold/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/gold/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/projects/{project_id}/gold/policy/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("PATCH", "/api/projects/{project_id}/gold/policy/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    ("GET", "/api/projects/{project_id}/labelers/", (UNAUTH, HIDDEN, DENIED, HIDDEN, OK, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/labelers/{user_id}/resume/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    # API: imports (leads)
    ("GET", "/api/projects/{project_id}/imports/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    ("POST", "/api/projects/{project_id}/imports/", (UNAUTH, HIDDEN, DENIED, HIDDEN, DENIED, WRITE, HIDDEN)),
    # Near the end: a lead's POST deletes image_id (and its labels) for the rows after it.
    ("POST", "/projects/{slug}/images/{image_id}/delete/", (LOGIN, HIDDEN, DENIED, HIDDEN, DENIED, OK, HIDDEN)),
    # Last: it ends the session, and sends everyone to the login page.
    ("POST", "/accounts/logout/", (LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN, LOGIN)),
]  # fmt: skip

# Not in the table, on purpose:
SKIPPED_ROUTES = {
    "admin/",  # Django admin: staff only, its own permission system
    "api/^.*$",  # the catch-all JSON 404 at the end of concord/api_urls.py
}


def _template(route: str) -> str:
    """'projects/<slug:slug>/' -> '/projects/{slug}/', the spelling of the table and schema."""
    return "/" + re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", route)


def _uncovered(table) -> dict[str, list]:
    """URL patterns and schema operations with no row, and rows for addresses that are gone."""
    operations = {(method, path) for method, path, _expected in table}
    paths = {path for _method, path in operations}
    routes = [route for route, _name in url_routes() if not route.startswith("admin/")]
    return {
        "URL patterns with no row in TABLE": sorted(
            {_template(r) for r in routes if r not in SKIPPED_ROUTES} - paths
        ),
        "schema operations with no row in TABLE": sorted(schema_operations() - operations),
        "rows in TABLE for addresses that no longer exist": sorted(
            paths - {_template(r) for r in routes}
        ),
    }


def test_every_endpoint_is_in_the_table(db):
    problems = {what: items for what, items in _uncovered(TABLE).items() if items}
    assert not problems, problems
    assert all(len(expected) == len(ACTORS) for _method, _path, expected in TABLE)


def test_a_forgotten_endpoint_or_operation_would_be_caught(db):
    without_page = [row for row in TABLE if row[1] != "/projects/{slug}/my-work/"]
    assert _uncovered(without_page)["URL patterns with no row in TABLE"]
    without_patch = [row for row in TABLE if row[:2] != ("PATCH", "/api/flags/{flag_id}/")]
    assert _uncovered(without_patch)["schema operations with no row in TABLE"] == [
        ("PATCH", "/api/flags/{flag_id}/")
    ]


@pytest.fixture
def world(db):
    from quality.enqueue import recompute_start

    cache_empty()  # login throttling counts failures per address: start each actor clean
    world = world_build()
    world.run = recompute_start(project=world.a, requested_by=world.users["lead_a"])
    world.asset = instruction_asset_add(
        project=world.a,
        user=world.users["lead_a"],
        name="example.png",
        fileobj=BytesIO(png_bytes()),
    )
    yield world
    cache_empty()


def _client(world, actor) -> APIClient:
    client = APIClient()
    if actor != "anonymous":
        client.force_login(world.users[actor])
    return client


def _kwargs(world) -> dict:
    return {
        "slug": world.a.slug,
        "project_id": world.a.pk,
        "image_id": world.images[0].pk,
        "annotation_id": world.annotation_a.pk,
        "flag_id": world.flag.pk,
        "pattern_id": world.pattern.pk,
        "run_id": world.run.pk,
        "number": world.instruction.number,
        "token": "not-a-valid-token",
        "asset_id": world.asset.pk,
        "user_id": world.users["labeler_a"].pk,
    }


def _call(client, method, url):
    if url.startswith("/api/") and method != "GET":
        response = client.generic(method, url, "", content_type="application/json")
    else:
        response = client.generic(method, url)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    return response, body


def _matches(expected, response) -> bool:
    status = response.status_code
    is_login = status == 302 and response["Location"].startswith("/accounts/login/")
    if expected == OK:
        return status in {200, 201, 202, 204} or (status == 302 and not is_login)
    if expected == WRITE:
        return status in {200, 201, 202, 204, 400} or (status == 302 and not is_login)
    if expected == LOGIN:
        return is_login
    return status == int(expected)


@pytest.mark.parametrize("actor", ACTORS)
def test_each_actor_gets_exactly_what_the_table_says(world, actor):
    client = _client(world, actor)
    column = ACTORS.index(actor)
    kwargs = _kwargs(world)
    wrong = []
    for method, path, expected in TABLE:
        url = path.format(**kwargs)
        response, body = _call(client, method, url)
        assert response.status_code < 500, (actor, method, url, body[:500])
        if not _matches(expected[column], response):
            wrong.append(f"{method} {url}: expected {expected[column]}, got {response.status_code}")
        if url.startswith("/api/") and response.status_code >= 400:
            assert response.json().get("detail"), (actor, method, url, body[:300])
    assert not wrong, f"{actor}:\n" + "\n".join(wrong)


def test_a_labeler_cannot_reach_another_labelers_annotation(world):
    client = _client(world, "labeler_a")
    url = f"/api/annotations/{world.annotation_b.pk}/"
    for method, path in (("GET", url), ("PUT", url), ("POST", url + "submit/")):
        response, body = _call(client, method, path)
        assert response.status_code == 404, (method, path, body[:300])
    client.post(f"/projects/{world.a.slug}/instructions/{world.instruction.number}/acknowledge/")
    page = f"/projects/{world.a.slug}/label/?annotation={world.annotation_b.pk}"
    assert client.get(page).status_code == 404
    world.annotation_b.refresh_from_db()
    assert world.annotation_b.boxes.count() == len(B_BOXES)


def test_lead_of_a_cannot_touch_project_b(world):
    client = _client(world, "lead_a")
    b = world.b
    for method, url in (
        ("GET", f"/projects/{b.slug}/"),
        ("GET", f"/projects/{b.slug}/settings/"),
        ("POST", f"/projects/{b.slug}/settings/"),
        ("GET", f"/projects/{b.slug}/report/"),
        ("GET", f"/api/projects/{b.pk}/"),
        ("PATCH", f"/api/projects/{b.pk}/"),
        ("POST", f"/api/projects/{b.pk}/classes/"),
        ("POST", f"/api/projects/{b.pk}/members/"),
        ("POST", f"/api/projects/{b.pk}/images/"),
        ("GET", f"/api/projects/{b.pk}/export/"),
        ("POST", f"/api/projects/{b.pk}/agreement/recompute/"),
        # B's image through A's address, where lead_a is the lead
        ("GET", f"/projects/{world.a.slug}/images/{world.image_b.pk}/file/"),
    ):
        response, body = _call(client, method, url)
        assert response.status_code == 404, (method, url, body[:300])


def _leaks(world) -> list[str]:
    """Strings that would show labeler_b's boxes or the agreement scores."""
    coordinates = {repr(v) for box in B_BOXES for v in box if v != int(v) and len(repr(v)) > 4}
    score = world.agreement.score
    scores = {repr(score), f"{score:.3f}", f"{score:.2f}"}
    return sorted(coordinates | scores | {world.users["labeler_b"].username})


def test_a_labeler_sees_none_of_the_other_labelers_boxes_counts_or_scores(world):
    client = _client(world, "labeler_a")
    kwargs = _kwargs(world)
    leaks = _leaks(world)
    # Acknowledged instructions, so the labeling page renders instead of sending them to read.
    client.post(f"/projects/{world.a.slug}/instructions/{world.instruction.number}/acknowledge/")
    own = f"/projects/{world.a.slug}/label/?annotation={world.annotation_a.pk}"
    assert client.get(own).status_code == 200
    read = 0
    for method, path, expected in TABLE:
        reachable = expected[ACTORS.index("labeler_a")] in {OK, WRITE}
        if not reachable or path.startswith("/accounts/"):
            continue
        if method != "GET" and path != "/api/projects/{project_id}/queue/next/":
            continue
        response, body = _call(client, method, path.format(**kwargs))
        if response.status_code == 302:
            response = client.get(response["Location"])
            body = response.content
        if response.get("Content-Type", "").startswith("image/"):
            continue
        read += 1
        text = body.decode()
        found = [leak for leak in leaks if leak in text]
        assert not found, (path, found)
    assert read >= 8


def test_the_leak_check_finds_boxes_and_scores_where_they_belong(world):
    """The blindness test above could not fail if the leak strings never appeared anywhere."""
    client = _client(world, "engineer")
    _response, body = _call(client, "GET", f"/api/projects/{world.a.pk}/annotations/")
    assert repr(B_BOXES[0][0]) in body.decode()
    _response, body = _call(client, "GET", f"/api/projects/{world.a.pk}/agreement/")
    assert repr(world.agreement.score) in body.decode()
    _response, body = _call(client, "GET", f"/projects/{world.a.slug}/report/")
    assert f"{world.agreement.score:.2f}" in body.decode()
    assert world.users["labeler_b"].username in body.decode()


def _counts() -> dict[str, int]:
    from django.apps import apps

    return {
        model._meta.label: model.objects.count()
        for label in ("projects", "annotations", "quality", "authtoken")
        for model in apps.get_app_config(label).get_models()
    }


@pytest.mark.parametrize("actor", ["labeler_a", "lead_a"])
def test_every_write_with_a_session_and_no_csrf_token_is_refused(world, actor):
    """A page on another site cannot make a signed-in browser write (cookies go, tokens don't)."""
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(world.users[actor])
    kwargs = _kwargs(world)
    before = _counts()
    for method, path, _expected in TABLE:
        if method == "GET":
            continue
        response, body = _call(client, method, path.format(**kwargs))
        assert response.status_code == 403, (actor, method, path, response.status_code, body[:200])
    assert _counts() == before


@pytest.mark.parametrize("actor", ["labeler_a", "lead_a"])
def test_methods_an_address_does_not_offer_never_fail_or_write(world, actor):
    client = _client(world, actor)
    kwargs = _kwargs(world)
    offered: dict[str, set[str]] = {}
    for method, path, _expected in TABLE:
        offered.setdefault(path, set()).add(method)
    before = _counts()
    for path, methods in offered.items():
        if path.startswith("/accounts/"):
            continue  # logging in or out is the point of those addresses
        for method in {"GET", "POST", "PUT", "PATCH", "DELETE"} - methods:
            response, body = _call(client, method, path.format(**kwargs))
            assert response.status_code < 500, (actor, method, path, body[:300])
            if path.startswith("/api/"):  # pages without a method list render as for GET
                assert response.status_code in {403, 404, 405}, (actor, method, path)
            if path.startswith("/api/") and path not in {"/api/schema/", "/api/docs/"}:
                assert response.json()["detail"], (actor, method, path)  # docs answer in kind
    assert _counts() == before
