"""Every page and API view that acts in one project loads it the one way that checks the caller's
role: pages through projects.permissions.project_for, API views as a ProjectScopedApi. A new view
that loads its project some other way (and could forget the role check) fails here, before the
role matrix is ever run against it."""

import inspect

from projects.permissions import Capability, ProjectScopedApi
from tests.security.world import url_views

# API routes that are not about one project, or whose object is the caller's own.
API_NOT_IN_A_PROJECT = {
    "api/auth/token/": "the caller's own API token",
    "api/schema/": "the OpenAPI schema",
    "api/docs/": "the API documentation page",
    "api/projects/": "the caller's projects; creating one needs a site permission",
    "api/annotations/<int:annotation_id>/": "the caller's own annotation (annotation_of_owner)",
    "api/annotations/<int:annotation_id>/submit/": "the caller's own annotation",
    "api/annotations/<int:annotation_id>/feedback/": "the caller's own annotation",
    "api/^.*$": "the JSON 404 for any other address",
}


def _api_views():
    return [(route, view) for route, _name, view in url_views() if route.startswith("api/")]


def _project_pages():
    return [(route, view) for route, _name, view in url_views() if "<slug:slug>" in route]


def test_every_api_view_in_a_project_is_a_project_scoped_api():
    unscoped = []
    for route, view in _api_views():
        view_class = getattr(view, "cls", None)
        if route in API_NOT_IN_A_PROJECT:
            continue
        if view_class is None or not issubclass(view_class, ProjectScopedApi):
            unscoped.append(route)
    assert unscoped == []
    assert {route for route, _view in _api_views()} >= API_NOT_IN_A_PROJECT.keys()


def test_every_project_scoped_api_names_the_capability_it_needs():
    for route, view in _api_views():
        view_class = getattr(view, "cls", None)
        if view_class is None or not issubclass(view_class, ProjectScopedApi):
            continue
        needed = getattr(view_class, "required_capability", None)
        capabilities = needed.values() if isinstance(needed, dict) else [needed]
        assert capabilities and all(isinstance(c, Capability) for c in capabilities), route


def test_every_page_of_a_project_loads_it_with_project_for():
    pages = _project_pages()
    assert len(pages) > 20
    for route, view in pages:
        function = inspect.unwrap(view)
        assert "project_for" in function.__code__.co_names, (route, function.__qualname__)
