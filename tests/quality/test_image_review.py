"""The flag queue's bulk review pages: the image review screen (all of one image's flags, settled
together or one by one), the impact order, and who may see and act.

The `results` project: image 1 has a label conflict (its consensus object has a class tie) and a
missing box, image 2 a low overlap, image 3 no flag.
"""

import re

import pytest
from django.db import connection

from quality.models import Flag
from quality.selectors import flag_queue
from tests.factories import ImageFactory
from tests.quality.reads import READS_COUNTED, rows_read

pytestmark = pytest.mark.django_db

OPEN, RESOLVED, DISMISSED = Flag.Status.OPEN, Flag.Status.RESOLVED, Flag.Status.DISMISSED


def image_url(project, image) -> str:
    return f"/projects/{project.slug}/flags/image/{image.pk}/"


def status(flag) -> str:
    return Flag.objects.get(pk=flag.pk).status


def messages_of(response) -> str:
    return " ".join(str(m) for m in response.context["messages"])


def test_leads_and_engineers_see_the_image_screen_labelers_never(
    client, project, results, lead, engineer, labeler_a, outsider, other_project_labeler
):
    img1 = results["images"][0]
    for user, code in (
        (lead, 200),
        (engineer, 200),
        (labeler_a, 403),
        (outsider, 404),
        (other_project_labeler, 404),
    ):
        client.force_login(user)
        assert client.get(image_url(project, img1)).status_code == code, user
        if code != 200 or user == engineer:
            response = client.post(
                image_url(project, img1), {"flag": "all", "resolution": "dismissed", "note": "x"}
            )
            assert response.status_code == (403 if user in (engineer, labeler_a) else 404), user
    assert status(results["conflict"]) == OPEN
    client.force_login(engineer)
    assert b"image-form" not in client.get(image_url(project, img1)).content


def test_an_image_of_another_project_is_404(client, project, results, lead):
    other = ImageFactory()
    client.force_login(lead)
    assert client.get(image_url(project, other)).status_code == 404


def test_the_screen_shows_all_the_images_flags_and_every_labelers_boxes(
    client, project, results, lead, labeler_a, labeler_b
):
    client.force_login(lead)
    response = client.get(image_url(project, results["images"][0]))
    data = response.context["data"]
    ids = [f["id"] for f in data["flags"]]
    assert ids == [results["conflict"].pk, results["missing"].pk]  # by impact: conflict first
    assert {layer["username"] for layer in data["labelers"]} == {"labeler_a", "labeler_b"}
    assert data["consensus"] and all(f["box_ids"] is not None for f in data["flags"])
    assert response.context["next_url"].startswith(image_url(project, results["images"][1]))
    assert response.context["previous_url"] is None


def test_accepting_a_tied_consensus_is_a_page_message_and_changes_nothing(
    client, project, results, lead
):
    client.force_login(lead)
    img1 = results["images"][0]
    response = client.post(
        image_url(project, img1), {"flag": "all", "resolution": "accept_consensus"}, follow=True
    )
    assert response.status_code == 200
    assert "tie on a class" in messages_of(response)
    assert response.redirect_chain[-1][0].startswith(image_url(project, img1))
    assert status(results["conflict"]) == status(results["missing"]) == OPEN


def test_one_labelers_version_settles_the_image_and_goes_to_the_next_image(
    client, project, results, lead, labeler_b
):
    client.force_login(lead)
    img1, img2 = results["images"][:2]
    response = client.post(
        image_url(project, img1),
        {"flag": "all", "resolution": "accept_labeler", "accepted_labeler": str(labeler_b.pk)},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(image_url(project, img2))
    conflict = Flag.objects.get(pk=results["conflict"].pk)
    assert (conflict.status, conflict.accepted_labeler) == (RESOLVED, labeler_b)
    assert status(results["missing"]) == RESOLVED
    assert status(results["low"]) == OPEN


def test_accepting_the_consensus_settles_the_image_then_the_queue_is_done(
    client, project, results, lead
):
    client.force_login(lead)
    img2 = results["images"][1]
    # The queue filtered to low overlaps: after image 2 there is none left, so back to the list.
    response = client.post(
        image_url(project, img2) + "?kind=low_overlap&status=open",
        {"flag": "all", "resolution": "accept_consensus"},
    )
    assert response.status_code == 302
    assert response["Location"].startswith(f"/projects/{project.slug}/flags/?")
    assert "kind=low_overlap" in response["Location"]
    assert status(results["low"]) == RESOLVED
    assert status(results["conflict"]) == OPEN


def test_dismissing_all_needs_a_reason(client, project, results, lead):
    client.force_login(lead)
    img1 = results["images"][0]
    response = client.post(
        image_url(project, img1), {"flag": "all", "resolution": "dismissed"}, follow=True
    )
    assert "Say why" in messages_of(response)
    assert status(results["conflict"]) == OPEN
    client.post(image_url(project, img1), {"flag": "all", "resolution": "dismissed", "note": "ok"})
    assert status(results["conflict"]) == status(results["missing"]) == DISMISSED
    assert Flag.objects.get(pk=results["missing"].pk).resolution_note == "ok"


def test_one_flag_is_dismissed_and_the_screen_stays_on_the_image(client, project, results, lead):
    client.force_login(lead)
    img1 = results["images"][0]
    response = client.post(
        image_url(project, img1),
        {"flag": str(results["missing"].pk), "resolution": "dismissed", "note": "fine"},
    )
    assert response["Location"].startswith(image_url(project, img1))
    assert status(results["missing"]) == DISMISSED
    assert status(results["conflict"]) == OPEN


@pytest.mark.parametrize("target", ["low", "abc", "99999999999999999999999", ""])
def test_a_flag_not_on_the_image_is_a_page_message(client, project, results, lead, target):
    client.force_login(lead)
    img1 = results["images"][0]
    flag = str(results[target].pk) if target in results else target
    response = client.post(
        image_url(project, img1),
        {"flag": flag, "resolution": "dismissed", "note": "x"},
        follow=True,
    )
    assert response.status_code == 200
    assert "not on this image" in messages_of(response)
    assert status(results["low"]) == OPEN


def test_a_settled_flag_is_not_settled_again(client, project, results, lead):
    client.force_login(lead)
    img1 = results["images"][0]
    body = {"flag": str(results["missing"].pk), "resolution": "dismissed", "note": "fine"}
    client.post(image_url(project, img1), body)
    response = client.post(image_url(project, img1), body, follow=True)
    assert "already settled" in messages_of(response)


def test_bad_queue_filters_are_refused_on_the_image_screen(client, project, results, lead):
    client.force_login(lead)
    response = client.get(image_url(project, results["images"][0]) + "?kind=nope")
    assert response.status_code == 400


@pytest.fixture
def grouping(project, results, labeler_a, labeler_b):
    flag = Flag.objects.create(
        project=project, image=results["images"][1], kind=Flag.Kind.GROUPING, key="g:1",
        message="labeler_a boxed 3 cars as one",
    )  # fmt: skip
    flag.labelers.set([labeler_a, labeler_b])
    return flag


def test_the_queue_puts_impact_first_and_keeps_image_order_selectable(
    client, project, results, lead, grouping
):
    client.force_login(lead)
    conflict, missing, low = results["conflict"], results["missing"], results["low"]
    listed = client.get(f"/projects/{project.slug}/flags/").context["page"].object_list
    assert [f.pk for f in listed] == [conflict.pk, grouping.pk, missing.pk, low.pk]
    listed = client.get(f"/projects/{project.slug}/flags/?order=image").context["page"]
    assert [f.pk for f in listed.object_list] == [conflict.pk, missing.pk, low.pk, grouping.pk]
    # An unknown order is the default one, not an error.
    assert client.get(f"/projects/{project.slug}/flags/?order=zzz").status_code == 200
    # The review page's previous/next follow the same order.
    response = client.get(f"/projects/{project.slug}/flags/{grouping.pk}/")
    assert f"/flags/{conflict.pk}/" in response.context["previous_url"]
    assert f"/flags/{missing.pk}/" in response.context["next_url"]
    response = client.get(f"/projects/{project.slug}/flags/{grouping.pk}/?order=image")
    assert f"/flags/{low.pk}/" in response.context["previous_url"]
    assert "order=image" in response.context["previous_url"]
    assert response.context["next_url"] is None


def test_the_list_shows_thumbnails_and_the_bulk_control_to_leads_only(
    client, project, results, lead, engineer
):
    client.force_login(lead)
    response = client.get(f"/projects/{project.slug}/flags/?kind=missing")
    content = response.content.decode()
    thumb = f"/projects/{project.slug}/images/{results['images'][0].pk}/thumb/"
    assert thumb in content
    assert client.get(thumb).status_code in (200, 404)  # a factory image may have no file
    assert 'id="bulk-panel"' in content
    assert response.context["bulk"] == {
        "url": f"/api/projects/{project.pk}/flags/bulk/",
        "filters": {"kind": "missing", "status": "open"},
    }
    client.force_login(engineer)
    assert 'id="bulk-panel"' not in client.get(f"/projects/{project.slug}/flags/").content.decode()


def test_the_image_screen_takes_a_bounded_number_of_queries(
    client, project, results, lead, django_assert_max_num_queries, labeler_a
):
    client.force_login(lead)
    img1 = results["images"][0]
    for k in range(30):
        flag = Flag.objects.create(
            project=project, image=img1, kind=Flag.Kind.LOW_OVERLAP, key=f"x:{k}", message="m"
        )
        flag.labelers.set([labeler_a])
    with django_assert_max_num_queries(25):
        assert client.get(image_url(project, img1)).status_code == 200


def _many_flags(project, images: int, per_image: int):
    kinds = list(Flag.Kind.values)
    made = [ImageFactory.build(project=project) for _ in range(images)]
    for image in made:
        image.save()
    Flag.objects.bulk_create(
        Flag(
            project=project,
            image=image,
            kind=kinds[(i + k) % len(kinds)],
            key=f"k:{k}",
            message="m",
            severity=(i * 7 + k) % 5 / 4,
        )  # fmt: skip
        for i, image in enumerate(made)
        for k in range(per_image)
    )


@READS_COUNTED
def test_a_page_by_impact_is_read_from_its_index(project, results):
    _many_flags(project, images=300, per_image=6)
    queue = flag_queue.flags_in_order(
        flag_queue.flags_filtered(project=project, filters={"status": OPEN}), "impact"
    )
    with rows_read("quality_flag") as read:
        page = list(queue[:50])
    assert len(page) == 50
    assert read["quality_flag"] <= 60, read
    sql, params = queue[:50].query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("EXPLAIN " + sql, params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "flag_queue_impact" in plan and "Sort" not in plan, plan


@READS_COUNTED
@pytest.mark.parametrize("order", ["impact", "image"])
def test_neighbours_are_found_without_reading_the_queue(project, results, order):
    """From a flag in the middle of the queue, the previous and next flag and image are a few
    index ranges away (an OR of the sort keys read the whole queue)."""
    _many_flags(project, images=300, per_image=6)
    queue = flag_queue.flags_filtered(project=project, filters={"status": OPEN})
    ordered = list(flag_queue.flags_in_order(queue, order))
    middle = ordered[900]
    with rows_read("quality_flag") as read:
        neighbours = flag_queue.flag_neighbours(flag=middle, queryset=queue, order=order)
    assert neighbours == (ordered[899].pk, ordered[901].pk)
    assert read["quality_flag"] <= 40, read
    with rows_read("quality_flag") as read:
        previous, following = flag_queue.image_neighbours(
            image_id=middle.image_id, queryset=queue, order=order
        )
    first_here = next(i for i, f in enumerate(ordered) if f.image_id == middle.image_id)
    after = next(f.image_id for f in ordered[first_here:] if f.image_id != middle.image_id)
    before = next(f.image_id for f in reversed(ordered[:first_here]))
    assert (previous, following) == (before, after)
    assert read["quality_flag"] <= 60, read


def test_within_a_kind_the_largest_disagreement_comes_first(client, project, results, lead):
    img1, img2, img3 = results["images"]
    made = {}
    for image, severity in ((img1, 0.2), (img3, 0.6), (img2, 0.6)):
        made[image.pk] = Flag.objects.create(
            project=project, image=image, kind=Flag.Kind.DUPLICATE, key=f"d:{image.pk}",
            message="boxed twice", severity=severity,
        )  # fmt: skip
    client.force_login(lead)
    listed = client.get(f"/projects/{project.slug}/flags/?kind=duplicate").context["page"]
    assert [f.image_id for f in listed.object_list] == [img2.pk, img3.pk, img1.pk]
    response = client.get(f"/projects/{project.slug}/flags/{made[img3.pk].pk}/?kind=duplicate")
    assert f"/flags/{made[img2.pk].pk}/" in response.context["previous_url"]
    assert f"/flags/{made[img1.pk].pk}/" in response.context["next_url"]


def test_the_assessment_stores_how_large_each_disagreement_is(demo):
    flags = Flag.objects.filter(project=demo)
    for message, severity in flags.filter(kind=Flag.Kind.LOW_OVERLAP).values_list(
        "message", "severity"
    ):
        iou = float(re.search(r"\b[01]\.\d+", message).group())
        assert abs((1 - severity) - iou) < 0.011, (message, severity)
    assert set(flags.filter(kind=Flag.Kind.LABEL_CONFLICT).values_list("severity", flat=True)) <= {
        0.5,
        1.0,
    }
    assert min(flags.filter(kind=Flag.Kind.GROUPING).values_list("severity", flat=True)) >= 2
