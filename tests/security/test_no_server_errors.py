"""Input that once answered 500 (issue #14, item 4): each is a clear 400 now, and writes nothing.

API errors are JSON with a `detail` (and the `param` at fault for a query parameter); page errors
are the site's page with the reason. The broad sweep over every parameter is in test_fuzz.py.
"""

import json
import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from annotations.boxes import BoxesInvalid, boxes_clean
from projects.markdown import render_markdown
from projects.models import InstructionVersion, LabelClass, Membership
from quality.models import Flag
from tests.security.test_bad_input import _api, _counts
from tests.security.world import world_build

SUPERSCRIPT_TWO = "²"  # str.isdigit() says yes, int() says no
ARABIC_THREE = "٣"  # int() reads it as 3: not an id a client meant to send
HUGE = 10**400  # float() overflows; far beyond any database integer


@pytest.fixture
def world(db):
    return world_build()


def _json_400(response, param: str | None = None) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    body = response.json()
    assert isinstance(body["detail"], str) and len(body["detail"]) > 10, body
    if param is not None:
        assert body.get("param") == param, body
    return body


def _page_400(response, *words: str) -> str:
    assert response.status_code == 400, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("text/html"), response["Content-Type"]
    html = response.content.decode()
    assert "<nav" in html or "site-header" in html or "<header" in html, html[:500]  # the layout
    for word in words:
        assert word in html, (word, html[-2000:])
    return html


# -- query parameters of the API ------------------------------------------------------------------


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, ARABIC_THREE, "-1", "1.0", str(HUGE), " 1"])
def test_an_image_id_that_is_not_plain_digits_is_a_json_400(world, value):
    url = f"/api/projects/{world.a.pk}/annotations/"
    response = _api(world.users["lead_a"]).get(url, {"image": value})
    _json_400(response, "image")


@pytest.mark.parametrize("endpoint", ["export", "datacard"])
def test_a_class_id_that_is_not_plain_digits_is_a_json_400(world, endpoint):
    url = f"/api/projects/{world.a.pk}/{endpoint}/"
    response = _api(world.users["lead_a"]).get(url, {"classes": SUPERSCRIPT_TWO})
    _json_400(response, "classes")


@pytest.mark.parametrize(
    "path", ["/api/projects/{a}/annotations/?labeler=%00", "/api/projects/{a}/flags/?kind=%00"]
)
def test_a_nul_in_a_query_parameter_is_a_json_400(world, path):
    response = _api(world.users["lead_a"]).get(path.format(a=world.a.pk))
    body = _json_400(response)
    assert "NUL" in body["detail"]


@pytest.mark.parametrize(
    ("name", "value"),
    [("labeler", "-1"), ("labeler", SUPERSCRIPT_TWO), ("label_class", "x"), ("label_class", str(HUGE))],
)  # fmt: skip
def test_flag_list_filters_that_are_not_ids_are_a_json_400(world, name, value):
    response = _api(world.users["lead_a"]).get(f"/api/projects/{world.a.pk}/flags/", {name: value})
    _json_400(response, name)


# -- JSON bodies ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"), [(HUGE, "401 digits"), (2**62, "lies outside"), (1e308, "lies outside")]
)
def test_a_huge_coordinate_is_a_json_400_and_keeps_the_draft(world, value, says):
    draft = world.annotation_a
    draft.status = draft.Status.DRAFT
    draft.save()
    before = _counts()
    box = {"x": value, "y": 1, "width": 5, "height": 5, "label_class": world.flag.label_class_id}
    response = _api(world.users["labeler_a"]).put(
        f"/api/annotations/{draft.pk}/", {"boxes": [box]}, format="json"
    )
    body = _json_400(response)
    assert says in body["detail"], body
    assert _counts() == before
    assert draft.boxes.count() == 2


@pytest.mark.parametrize("body", ["[" * 5000, '{"boxes": ' + "[" * 5000 + "]" * 5000 + "}"])
def test_deeply_nested_json_is_a_json_400(world, body):
    before = _counts()
    response = _api(world.users["labeler_a"]).generic(
        "PUT", f"/api/annotations/{world.annotation_a.pk}/", body, content_type="application/json"
    )
    _json_400(response)
    assert _counts() == before


def test_a_huge_accepted_labeler_id_through_the_api_is_a_json_400(world):
    before = _counts()
    response = _api(world.users["lead_a"]).patch(
        f"/api/flags/{world.flag.pk}/",
        {"resolution": "accept_labeler", "accepted_labeler": HUGE},
        format="json",
    )
    assert 400 <= response.status_code < 500, response.content[:300]
    assert _counts() == before


def test_more_than_the_allowed_files_is_a_json_400(world, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FILES = 3
    files = [SimpleUploadedFile(f"{i}.png", b"x", "image/png") for i in range(4)]
    response = _api(world.users["lead_a"]).post(
        f"/api/projects/{world.a.pk}/images/", {"files": files}, format="multipart"
    )
    body = _json_400(response)
    assert "3" in body["detail"]


def test_a_body_over_the_size_limit_is_a_json_400(world, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    response = _api(world.users["lead_a"]).generic(
        "PATCH",
        f"/api/projects/{world.a.pk}/",
        json.dumps({"description": "x" * 5000}),
        content_type="application/json",
    )
    body = _json_400(response)
    assert "1024" in body["detail"] or "1 KB" in body["detail"], body


# -- pages ----------------------------------------------------------------------------------------

REVIEW_FILTERS = [("kind", "zzz"), ("status", "zzz"), ("labeler", "-1"), ("label_class", "x"),
                  ("labeler", SUPERSCRIPT_TWO), ("label_class", str(HUGE)), ("kind", "\x00")]  # fmt: skip


@pytest.mark.parametrize(("name", "value"), REVIEW_FILTERS)
@pytest.mark.parametrize("page", ["flags/", "flags/{flag}/", "flags/{flag}/instructions/"])
def test_bad_flag_filters_on_the_pages_are_a_400_page_naming_the_filter(
    world, client, page, name, value
):
    client.force_login(world.users["lead_a"])
    url = f"/projects/{world.a.slug}/" + page.format(flag=world.flag.pk)
    response = client.get(url, {name: value})
    _page_400(response, name)


def _settings_post(client, world, data):
    client.force_login(world.users["lead_a"])
    return client.post(f"/projects/{world.a.slug}/settings/", data)


def test_a_class_id_that_is_not_a_number_is_a_400_page(world, client):
    before = _counts()
    response = _settings_post(client, world, {"action": "class", "class_id": "abc", "name": "bus"})
    _page_400(response, "class_id")
    assert _counts() == before


NUL_FORMS = {
    "class name": {"action": "class", "name": "bus\x00", "hotkey": "7"},
    "class guidance": {"action": "class", "name": "bus", "guidance": "tight\x00"},
    "member username": {"action": "member", "username": "lab\x00eler_a", "role": "labeler"},
}


@pytest.mark.parametrize("form", NUL_FORMS)
def test_a_nul_in_a_settings_form_is_a_400_page_and_writes_nothing(world, client, form):
    before = _counts()
    response = _settings_post(client, world, NUL_FORMS[form])
    _page_400(response, "NUL")
    assert _counts() == before
    assert not LabelClass.objects.filter(name__startswith="bus").exists()
    assert Membership.objects.filter(project=world.a).count() == 4


def test_a_nul_in_the_instructions_or_a_flag_note_is_a_400_page_and_writes_nothing(world, client):
    client.force_login(world.users["lead_a"])
    before = _counts()
    review = f"/projects/{world.a.slug}/flags/{world.flag.pk}/"
    response = client.post(review + "instructions/", {"body": "Box\x00 cars.", "note": "n"})
    _page_400(response, "NUL")
    response = client.post(review, {"resolution": "dismissed", "note": "not\x00 a flag"})
    _page_400(response, "NUL")
    response = client.post("/projects/new/", {"name": "P", "instructions": "a\x00"})
    _page_400(response, "NUL")
    assert _counts() == before
    assert InstructionVersion.objects.filter(project=world.a).count() == 1
    world.flag.refresh_from_db()
    assert world.flag.status == Flag.Status.OPEN


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, ARABIC_THREE, str(HUGE), "abc"])
def test_an_accepted_labeler_that_is_not_an_id_is_refused_on_the_review_page(world, client, value):
    client.force_login(world.users["lead_a"])
    before = _counts()
    review = f"/projects/{world.a.slug}/flags/{world.flag.pk}/"
    response = client.post(
        review, {"resolution": "accept_labeler", "accepted_labeler": value}, follow=True
    )
    assert response.status_code in (200, 400), response.status_code
    assert "Choose the labeler whose version you accept" in response.content.decode()
    assert _counts() == before


@pytest.mark.parametrize("field", ["x", "width", "label_class"])
def test_huge_integers_in_adjudicated_boxes_are_refused_on_the_review_page(world, client, field):
    client.force_login(world.users["lead_a"])
    before = _counts()
    box = {"x": 1, "y": 1, "width": 5, "height": 5, "label_class": world.flag.label_class_id}
    box[field] = HUGE
    response = client.post(
        f"/projects/{world.a.slug}/flags/{world.flag.pk}/",
        {"resolution": "adjudicated", "boxes": json.dumps([box])},
        follow=True,
    )
    assert response.status_code in (200, 400), response.status_code
    assert "401 digits is out of range" in response.content.decode()
    assert _counts() == before


@pytest.mark.parametrize("field", ["x", "height", "label_class"])
def test_box_validation_refuses_integers_beyond_a_float_with_its_own_message(field):
    box = {"x": 1, "y": 1, "width": 5, "height": 5, "label_class": 1}
    box[field] = HUGE
    with pytest.raises(BoxesInvalid, match=f"Box 1 \\(index 0\\): {field} .*digits"):
        boxes_clean([box], image_width=100, image_height=100, class_ids=[1])


def test_deeply_nested_adjudicated_boxes_are_refused_on_the_review_page(world, client):
    client.force_login(world.users["lead_a"])
    before = _counts()
    response = client.post(
        f"/projects/{world.a.slug}/flags/{world.flag.pk}/",
        {"resolution": "adjudicated", "boxes": "[" * 5000},
        follow=True,
    )
    assert response.status_code in (200, 400), response.status_code
    assert "boxes" in response.content.decode()
    assert _counts() == before


def test_an_anonymous_api_call_with_a_nul_is_still_asked_to_authenticate_first(world):
    response = APIClient().get(f"/api/projects/{world.a.pk}/flags/?kind=%00")
    assert response.status_code in (400, 401)
    assert response["Content-Type"].startswith("application/json")


def test_deeply_nested_json_to_the_token_endpoint_is_a_json_400(db):
    """Its DRF view names its own parsers: they must be the strict ones too."""
    response = APIClient().generic(
        "POST", "/api/auth/token/", "[" * 5000, content_type="application/json"
    )
    _json_400(response)


@pytest.mark.parametrize(
    "text",
    ["[" * 5000, "[ " * 2000, "[" * 100 + "x" * 200_000, "[a](" * 2000, "[" * 1000 + "]" * 1000],
)
def test_markdown_with_brackets_that_open_no_link_renders_quickly_as_typed(text):
    """Python-Markdown scanned to the end of the paragraph from each such '[': 5,000 of them took
    20 s to render, on every page showing the instructions."""
    started = time.perf_counter()
    html = render_markdown(text)
    assert time.perf_counter() - started < 3
    assert html.count("[") == text.count("[")  # shown as typed, no backslash, nothing dropped


def test_markdown_links_and_images_still_render():
    html = render_markdown("[a](http://x) and [![i](http://a/i.png)](https://y) \\[not a link]")
    assert '<a href="http://x"' in html and '<img alt="i" src="http://a/i.png">' in html
    assert "[not a link]" in html


@pytest.mark.parametrize("endpoint", ["export", "datacard"])
def test_a_min_instruction_version_that_is_not_plain_digits_is_a_json_400(world, endpoint):
    url = f"/api/projects/{world.a.pk}/{endpoint}/"
    response = _api(world.users["lead_a"]).get(url, {"min_instruction_version": SUPERSCRIPT_TWO})
    _json_400(response, "min_instruction_version")


def test_a_split_seed_that_is_not_plain_digits_is_a_json_400(world):
    url = f"/api/projects/{world.a.pk}/export/"
    response = _api(world.users["lead_a"]).get(
        url, {"split": "0.8,0.2", "split_seed": SUPERSCRIPT_TWO}
    )
    _json_400(response, "split_seed")
