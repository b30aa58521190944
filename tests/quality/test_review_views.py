"""Report, flag queue and review pages and the flag API: who sees what, who may act."""

import json

import pytest

from annotations.models import Annotation
from projects.instructions import instructions_current
from quality.models import Flag, FlagLabeler

pytestmark = pytest.mark.django_db


def _pages(project, flag):
    return [
        f"/projects/{project.slug}/report/",
        f"/projects/{project.slug}/flags/",
        f"/projects/{project.slug}/flags/{flag.pk}/",
    ]


def test_leads_and_engineers_read_the_report_queue_and_review(
    client, project, results, lead, engineer
):
    for user in (lead, engineer):
        client.force_login(user)
        for url in _pages(project, results["conflict"]):
            assert client.get(url).status_code == 200, (user, url)


def test_labelers_get_403_and_outsiders_404(
    client, project, results, labeler_a, outsider, other_project_labeler
):
    pages = _pages(project, results["conflict"]) + [
        f"/projects/{project.slug}/flags/{results['conflict'].pk}/instructions/"
    ]
    for user, code in ((labeler_a, 403), (outsider, 404), (other_project_labeler, 404)):
        client.force_login(user)
        for url in pages:
            assert client.get(url).status_code == code, (user, url)


def test_report_page_embeds_the_figures_for_the_charts(client, project, results, lead):
    client.force_login(lead)
    response = client.get(f"/projects/{project.slug}/report/")
    report = response.context["report"]
    assert report["kalpha"] == 0.61
    assert report["progress"] == {"total": 3, "complete": 3, "in_progress": 0, "untouched": 0}
    assert report["threshold_sweep"][1] == {"iou": 0.5, "kalpha": 0.61}
    assert b'id="report-data"' in response.content and b"chart-sweep" in response.content
    assert f"/api/projects/{project.pk}/datacard/?format=md".encode() in response.content


def test_engineer_sees_no_actions_and_cannot_resolve(client, project, results, engineer):
    client.force_login(engineer)
    url = f"/projects/{project.slug}/flags/{results['conflict'].pk}/"
    assert b"resolve-form" not in client.get(url).content
    response = client.post(url, {"resolution": "dismissed", "note": "no"})
    assert response.status_code == 403
    assert Flag.objects.get(pk=results["conflict"].pk).status == Flag.Status.OPEN


def test_lead_accepts_a_labelers_version_and_goes_to_the_next_open_flag(
    client, project, results, lead, labeler_b
):
    client.force_login(lead)
    flag, missing = results["conflict"], results["missing"]
    response = client.post(
        f"/projects/{project.slug}/flags/{flag.pk}/",
        {"resolution": "accept_labeler", "accepted_labeler": labeler_b.pk},
    )
    assert response.status_code == 302
    # The missing flag on the same image was settled with it, so the next open one is next.
    assert response["Location"].startswith(f"/projects/{project.slug}/flags/{results['low'].pk}/")
    flag.refresh_from_db()
    assert (flag.status, flag.accepted_labeler) == (Flag.Status.RESOLVED, labeler_b)
    assert Annotation.objects.filter(image=flag.image, kind="adjudication").exists()
    page = client.get(response["Location"]).content.decode()
    assert f"also settled #{missing.pk}" in page  # the success message says so


def test_a_flag_settled_with_another_says_so_in_the_queue_review_and_api(
    client, project, results, lead, labeler_b
):
    client.force_login(lead)
    flag, missing = results["conflict"], results["missing"]
    client.post(
        f"/projects/{project.slug}/flags/{flag.pk}/",
        {"resolution": "accept_labeler", "accepted_labeler": labeler_b.pk},
    )
    queue = client.get(f"/projects/{project.slug}/flags/?status=resolved").content.decode()
    assert f"with #{flag.pk}" in queue
    review = client.get(f"/projects/{project.slug}/flags/{missing.pk}/").content.decode()
    assert (
        f'settled with <a id="settled-with" href="/projects/{project.slug}/flags/{flag.pk}/'
        in review
    )
    deciding = client.get(f"/projects/{project.slug}/flags/{flag.pk}/").content.decode()
    assert "Also settled by this decision" in deciding and f"#{missing.pk} missing" in deciding
    body = client.get(f"/api/flags/{missing.pk}/").json()
    assert (body["status"], body["resolution"], body["settled_by"]) == (
        "resolved",
        "accept_labeler",
        flag.pk,
    )


def test_a_refused_decision_shows_its_reason_and_keeps_the_flag_open(
    client, project, results, lead
):
    client.force_login(lead)
    url = f"/projects/{project.slug}/flags/{results['conflict'].pk}/"
    response = client.post(url, {"resolution": "accept_consensus"}, follow=True)
    assert "tie" in response.content.decode()
    assert Flag.objects.get(pk=results["conflict"].pk).status == Flag.Status.OPEN


def test_lead_adjudicates_through_the_page(client, project, results, lead):
    client.force_login(lead)
    car = results["car"]
    boxes = [{"x": 10, "y": 10, "width": 50, "height": 40, "label_class": car.pk}]
    client.post(
        f"/projects/{project.slug}/flags/{results['conflict'].pk}/",
        {"resolution": "adjudicated", "boxes": json.dumps(boxes)},
    )
    annotation = Annotation.objects.get(kind="adjudication")
    assert [b.label_class for b in annotation.boxes.all()] == [car]


def test_instructions_page_prefills_the_worked_example_and_publishes(
    client, project, results, lead
):
    client.force_login(lead)
    url = f"/projects/{project.slug}/flags/{results['low'].pk}/instructions/"
    body = client.get(url).context["body"]
    assert "Worked example" in body and "overlap only 0.42" in body
    body = body.split("**The rule:**")[0] + "**The rule:** Box the whole car, mirrors included."
    response = client.post(url, {"body": body, "summary": "Whole car."})
    assert response.status_code == 302
    flag = Flag.objects.get(pk=results["low"].pk)
    assert flag.resolution == "instructions" and flag.instruction_version.number == 2
    assert instructions_current(project=project).summary == "Whole car."


def test_engineer_cannot_open_the_instructions_draft(client, project, results, engineer):
    client.force_login(engineer)
    url = f"/projects/{project.slug}/flags/{results['low'].pk}/instructions/"
    assert client.get(url).status_code == 403


def test_review_shows_every_labelers_boxes_and_neighbours(client, project, results, lead):
    client.force_login(lead)
    response = client.get(f"/projects/{project.slug}/flags/{results['missing'].pk}/")
    data = response.context["data"]
    assert [row["username"] for row in data["labelers"]] == ["labeler_a", "labeler_b"]
    assert data["flag"]["box_ids"] == [results["a_boxes"][1].pk]
    assert response.context["previous_url"].startswith(
        f"/projects/{project.slug}/flags/{results['conflict'].pk}/"
    )
    assert response.context["next_url"].startswith(
        f"/projects/{project.slug}/flags/{results['low'].pk}/"
    )


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", ["conflict", "missing", "low"]),
        ("?kind=missing", ["missing"]),
        ("?label_class={car}", ["missing", "low"]),
        ("?status=resolved", []),
    ],
)
def test_flag_queue_filters(client, project, results, lead, query, expected):
    client.force_login(lead)
    response = client.get(f"/projects/{project.slug}/flags/" + query.format(car=results["car"].pk))
    shown = [f.pk for f in response.context["page"].object_list]
    assert shown == [results[name].pk for name in expected]


def test_flag_queue_filters_by_the_labeler_who_deviates(client, project, results, lead, labeler_a):
    """The labeler filter lists the flags where that labeler is the one who deviates, not every
    flag they are involved in (all three involve labeler_a)."""
    client.force_login(lead)
    FlagLabeler.objects.filter(
        flag__in=[results["conflict"], results["missing"]], user=labeler_a
    ).update(deviating=True)
    response = client.get(f"/projects/{project.slug}/flags/?labeler={labeler_a.pk}")
    assert {f.pk for f in response.context["page"].object_list} == {
        results["conflict"].pk,
        results["missing"].pk,
    }
    body = client.get(f"/api/projects/{project.pk}/flags/?labeler={labeler_a.pk}").json()
    assert {f["id"] for f in body["results"]} == {results["conflict"].pk, results["missing"].pk}
    assert {tuple(f["deviating"]) for f in body["results"]} == {("labeler_a",)}


# The API.


def test_flag_api_lists_and_filters_in_bounded_queries(
    client, project, results, engineer, django_assert_max_num_queries
):
    client.force_login(engineer)
    with django_assert_max_num_queries(9):
        body = client.get(f"/api/projects/{project.pk}/flags/").json()
    assert body["count"] == 3
    first = body["results"][0]
    assert {"id", "kind", "status", "message", "image", "labelers"} <= set(first)
    assert [u["username"] for u in first["labelers"]] == ["labeler_a", "labeler_b"]
    body = client.get(f"/api/projects/{project.pk}/flags/?kind=low_overlap").json()
    assert [f["id"] for f in body["results"]] == [results["low"].pk]


def test_flag_api_query_count_does_not_grow_with_flags(
    client, project, results, lead, django_assert_max_num_queries
):
    from tests.factories import ImageFactory

    for n in range(30):
        flag = Flag.objects.create(
            project=project,
            image=ImageFactory(project=project),
            kind="missing",
            key=f"k{n}",
            message="m",
        )
        flag.labelers.set(list(project.memberships.values_list("user", flat=True)))
    client.force_login(lead)
    with django_assert_max_num_queries(9):
        assert client.get(f"/api/projects/{project.pk}/flags/").json()["count"] == 33


def test_flag_api_bad_filter_is_a_json_error(client, project, results, lead):
    client.force_login(lead)
    response = client.get(f"/api/projects/{project.pk}/flags/?kind=nope")
    assert response.status_code == 400 and "Unknown kind" in response.json()["detail"]


def test_flag_api_roles(client, project, results, labeler_a, outsider):
    for user, code in ((labeler_a, 403), (outsider, 404)):
        client.force_login(user)
        assert client.get(f"/api/projects/{project.pk}/flags/").status_code == code
        assert client.get(f"/api/projects/{project.pk}/agreement/").status_code == code
        assert client.get(f"/api/flags/{results['low'].pk}/").status_code == code


def test_patch_flag_resolves_for_leads_only(client, project, results, lead, engineer, labeler_b):
    url = f"/api/flags/{results['conflict'].pk}/"
    payload = {"resolution": "accept_labeler", "accepted_labeler": labeler_b.pk}
    client.force_login(engineer)
    assert client.get(url).status_code == 200
    assert client.patch(url, payload, content_type="application/json").status_code == 403
    client.force_login(lead)
    response = client.patch(url, payload, content_type="application/json")
    assert response.status_code == 200
    assert response.json()["status"] == "resolved"
    assert response.json()["accepted_labeler"]["username"] == "labeler_b"


def test_patch_flag_refusal_is_a_json_message(client, project, results, lead):
    client.force_login(lead)
    url = f"/api/flags/{results['low'].pk}/"
    response = client.patch(url, {"resolution": "dismissed"}, content_type="application/json")
    assert response.status_code == 400 and "why" in response.json()["detail"]
    response = client.patch(url, {"resolution": "maybe"}, content_type="application/json")
    assert response.status_code == 400 and "resolution" in response.json()["detail"]


def test_agreement_api_returns_the_report(client, project, results, engineer):
    client.force_login(engineer)
    body = client.get(f"/api/projects/{project.pk}/agreement/").json()
    assert body["kalpha"] == 0.61
    assert body["confusion"]["labels"] == ["car", "truck"]
    assert [r["username"] for r in body["labelers"]] == ["labeler_a", "labeler_b"]


def test_flag_queue_counts_up_to_a_cap(client, project, results, lead, monkeypatch):
    """A huge queue says "N+ flags" instead of counting every flag on each page view."""
    from quality.views import CappedPaginator

    client.force_login(lead)
    url = f"/projects/{project.slug}/flags/"
    assert "3 flags" in client.get(url).content.decode()
    monkeypatch.setattr(CappedPaginator, "cap", 2)
    response = client.get(url)
    assert "2+ flags" in response.content.decode()
    assert len(response.context["page"].object_list) == 3  # the page itself is not cut


def test_review_and_queue_say_who_deviates_or_that_there_is_no_majority(
    client, project, results, lead, labeler_a
):
    client.force_login(lead)
    FlagLabeler.objects.filter(flag=results["conflict"], user=labeler_a).update(deviating=True)
    page = client.get(f"/projects/{project.slug}/flags/{results['conflict'].pk}/")
    assert b"In the minority: <strong>labeler_a</strong>" in page.content
    page = client.get(f"/projects/{project.slug}/flags/{results['low'].pk}/")
    assert b"No majority" in page.content
    queue = client.get(f"/projects/{project.slug}/flags/").content.decode()
    assert "deviates: <strong>labeler_a</strong>" in queue and "no majority" in queue
