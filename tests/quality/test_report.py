"""The report's selectors: stored figures, aggregate queries, and labelers' feedback."""

import pytest
from django.template import Context, Template

from quality.models import Flag
from quality.report import instruction_excerpt, labeler_feedback, project_report
from quality.review import flag_resolve
from tests.factories import ImageFactory
from tests.quality.labels import submit

pytestmark = pytest.mark.django_db


def test_report_reads_progress_histogram_flags_and_classes(project, results, labeler_a, classes):
    ImageFactory(project=project)  # untouched
    started = ImageFactory(project=project)
    submit(started, labeler_a, [])  # one of two label sets: in progress
    report = project_report(project=project)
    assert report["progress"] == {"total": 5, "complete": 3, "in_progress": 1, "untouched": 1}
    counts = [b["count"] for b in report["score_histogram"]]
    assert counts[3] == 1 and counts[5] == 1 and counts[9] == 1 and sum(counts) == 3
    kinds = {k["kind"]: k for k in report["flags"]["by_kind"]}
    assert kinds["missing"]["open"] == 1 and report["flags"]["open"] == 3
    car = next(c for c in report["per_class"] if c["name"] == "car")
    assert car["objects"] == 3 and car["label_agreement"] == 0.83 and car["open_flags"] == 2
    assert report["confusion"]["rows"][0]["cells"][1] == {
        "count": 1, "share": 0.2, "diagonal": False,
    }  # fmt: skip
    assert report["by_instruction_version"][0]["number"] == 1
    assert [w["score"] for w in report["worst_images"]] == [0.31, 0.55, 0.97]
    assert report["worst_images"][0]["flag_id"] == results["conflict"].pk
    labeler = report["labelers"][0]
    assert labeler["username"] == "labeler_a"
    assert labeler["top_flag_kinds"][0]["count"] == 1
    assert any("car and truck" in line for line in report["highlights"])


def test_report_without_stored_results_still_renders(project, classes, labeler_a):
    report = project_report(project=project)
    assert report["kalpha"] is None and report["threshold_sweep"] == []
    assert report["confusion"] == {"labels": [], "rows": []}
    assert report["labelers"][0]["agreement_with_peers"] is None


def test_report_query_count_does_not_depend_on_image_count(
    project, results, django_assert_max_num_queries
):
    with django_assert_max_num_queries(14):
        project_report(project=project)
    for _ in range(20):
        ImageFactory(project=project)
    with django_assert_max_num_queries(14):
        project_report(project=project)


def test_labeler_feedback_shows_the_decision_and_the_rule_not_others_boxes(
    project, results, lead, labeler_a, labeler_b
):
    flag_resolve(
        flag=results["conflict"], user=lead, resolution="accept_labeler", accepted_labeler=labeler_b
    )
    flag_resolve(flag=results["low"], user=lead, resolution="dismissed", note="Both fine.")
    feedback = labeler_feedback(user=labeler_a, project=project)
    assert [f["flag_id"] for f in feedback] == [results["low"].pk, results["conflict"].pk]
    assert feedback[1]["decision"] == "The lead accepted another labeler's version, not yours."
    assert feedback[0]["note"] == "Both fine."
    assert feedback[1]["excerpt"] == "Box every car and truck."
    mine = labeler_feedback(user=labeler_b, project=project)
    assert mine[1]["decision"] == "The lead accepted your version."
    html = Template('{% include "annotations/_my_feedback.html" %}').render(
        Context({"user": labeler_a, "project": project})
    )
    assert "accepted another labeler" in html and "Both fine." in html
    assert "labeler_b" not in html  # nothing of the other labeler's work


def test_feedback_is_empty_until_a_lead_settles_a_flag(project, results, labeler_a):
    assert labeler_feedback(user=labeler_a, project=project) == []
    html = Template('{% include "annotations/_my_feedback.html" %}').render(
        Context({"user": labeler_a, "project": project})
    )
    assert "No feedback yet" in html


def test_instruction_excerpt_prefers_the_worked_example_then_the_class(project, results, lead):
    missing = Flag.objects.get(pk=results["missing"].pk)
    missing.instruction_version = project.current_instructions
    assert instruction_excerpt(flag=missing) == "Box every car and truck."
