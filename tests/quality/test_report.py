"""The report's selectors: stored figures kept in step with decisions, and labelers' feedback."""

import pytest
from django.core.cache import cache
from django.db import connection
from django.template import Context, Template
from django.test.utils import CaptureQueriesContext

from projects.instructions import instructions_current
from quality.models import Flag, ReportFigures
from quality.selectors.feedback import instruction_excerpt, labeler_feedback
from quality.selectors.figures import summary_key
from quality.selectors.report import flag_counts, project_report
from quality.services.review import flag_resolve
from quality.services.summary import report_figures_refresh
from tests.factories import ImageFactory
from tests.quality.labels import submit

pytestmark = pytest.mark.django_db


def test_report_reads_progress_histogram_flags_and_classes(project, results, labeler_a, classes):
    ImageFactory(project=project)  # untouched
    started = ImageFactory(project=project)
    submit(started, labeler_a, [])  # one of two label sets: in progress
    report = project_report(project=project)
    # Progress is as of the stored figures, until the next summary stores them again.
    assert report["progress"] == {"total": 3, "complete": 3, "in_progress": 0, "untouched": 0}
    assert report["figures_at"] is not None
    report_figures_refresh(project=project)
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


def test_report_without_stored_results_counts_progress_live(project, classes, labeler_a):
    submit(ImageFactory(project=project), labeler_a, [])
    report = project_report(project=project)
    assert report["kalpha"] is None and report["threshold_sweep"] == []
    assert report["confusion"] == {"labels": [], "rows": []}
    assert report["labelers"][0]["agreement_with_peers"] is None
    assert report["figures_at"] is None
    assert report["progress"] == {"total": 1, "complete": 0, "in_progress": 1, "untouched": 0}


def test_report_reads_stored_figures_without_scanning_the_project(
    project, results, django_assert_max_num_queries
):
    for _ in range(20):
        ImageFactory(project=project)
    with CaptureQueriesContext(connection) as captured:
        project_report(project=project)
    assert len(captured) <= 8
    scans = [
        q["sql"]
        for q in captured.captured_queries
        if "annotations_annotation" in q["sql"]
        or "COUNT(" in q["sql"].upper()
        or '"projects_image"."project_id"' in q["sql"]
    ]
    assert scans == []  # no aggregate over images, annotations or flags per request


def test_a_decision_moves_the_stored_flag_counts_at_once(project, results, lead, labeler_b):
    flag_resolve(flag=results["low"], user=lead, resolution="dismissed", note="Both fine.")
    report = project_report(project=project)
    kinds = {k["kind"]: k for k in report["flags"]["by_kind"]}
    assert (report["flags"]["open"], report["flags"]["settled"]) == (2, 1)
    assert kinds["low_overlap"]["dismissed"] == 1 and kinds["low_overlap"]["open"] == 0
    assert next(c for c in report["per_class"] if c["name"] == "car")["open_flags"] == 1

    # Accepting a labeler's version settles the image: its missing flag goes with the conflict.
    flag_resolve(
        flag=results["conflict"], user=lead, resolution="accept_labeler", accepted_labeler=labeler_b
    )
    report = project_report(project=project)
    assert (report["flags"]["open"], report["flags"]["settled"]) == (0, 3)
    assert all(c["open_flags"] == 0 for c in report["per_class"])
    assert [w["open_flags"] for w in report["worst_images"]] == [0, 0, 0]
    stored = ReportFigures.objects.get(project=project)
    assert flag_counts(project=project) == {
        "flags_by_kind": stored.flags_by_kind,
        "open_flags_by_class": stored.open_flags_by_class,
    }  # the moved counts equal a recount


def test_labeler_feedback_shows_the_decision_and_the_rule_not_others_boxes(
    project, results, lead, labeler_a, labeler_b
):
    flag_resolve(
        flag=results["conflict"], user=lead, resolution="accept_labeler", accepted_labeler=labeler_b
    )
    flag_resolve(flag=results["low"], user=lead, resolution="dismissed", note="Both fine.")
    feedback = labeler_feedback(user=labeler_a, project=project)
    # The missing box on the conflict's image was settled by the same decision.
    assert [f["flag_id"] for f in feedback] == [
        results["low"].pk,
        results["missing"].pk,
        results["conflict"].pk,
    ]
    assert feedback[2]["decision"] == "The lead accepted another labeler's version, not yours."
    assert feedback[1]["decision"] == feedback[2]["decision"]
    assert feedback[0]["note"] == "Both fine."
    assert feedback[2]["excerpt"] == "Box every car and truck."
    mine = labeler_feedback(user=labeler_b, project=project)
    assert mine[2]["decision"] == "The lead accepted your version."
    html = Template('{% include "annotations/_my_feedback.html" %}').render(
        Context({"feedback": labeler_feedback(user=labeler_a, project=project)})
    )
    assert "accepted another labeler" in html and "Both fine." in html
    assert "labeler_b" not in html  # nothing of the other labeler's work


def test_feedback_renders_the_leads_markdown_sanitised_and_says_one_box_differed(
    project, results, lead, labeler_a, labeler_b
):
    note = "Parked cars count **one by one**.\n\n<script>alert(1)</script>[x](javascript:alert(2))"
    flag_resolve(flag=results["low"], user=lead, resolution="dismissed", note=note)
    html = Template('{% include "annotations/_my_feedback.html" %}').render(
        Context({"feedback": labeler_feedback(user=labeler_a, project=project)})
    )
    assert "<strong>one by one</strong>" in html
    assert "<script>" not in html and "javascript:" not in html
    # Two labelers who disagree on a box's overlap: an even split, nobody in the minority.
    assert "no one&#x27;s boxes were the odd ones out" in html
    assert "labeler_b" not in html and "labeler_a" not in html  # nobody is named


def test_feedback_tells_the_labeler_plainly_whether_their_own_box_differed(
    project, results, lead, labeler_a, labeler_b
):
    from quality.models import FlagLabeler

    # labeler_b drew the odd class; the box labeler_a alone drew is the missing flag's box.
    FlagLabeler.objects.filter(flag=results["conflict"], user=labeler_b).update(deviating=True)
    FlagLabeler.objects.filter(flag=results["missing"], user=labeler_a).update(deviating=True)
    flag_resolve(
        flag=results["conflict"], user=lead, resolution="accept_labeler", accepted_labeler=labeler_a
    )
    flag_resolve(flag=results["missing"], user=lead, resolution="dismissed", note="Fine.")
    mine = {f["flag_id"]: f["your_part"] for f in labeler_feedback(user=labeler_a, project=project)}
    theirs = {
        f["flag_id"]: f["your_part"] for f in labeler_feedback(user=labeler_b, project=project)
    }
    conflict, missing = results["conflict"].pk, results["missing"].pk
    assert mine[conflict] == "Another labeler's boxes differed here; yours went with the majority."
    assert theirs[conflict] == "You gave this object a different class from the other labelers."
    assert mine[missing] == "You boxed an object here that the other labelers did not box."
    assert theirs[missing] == "Another labeler's boxes differed here; yours went with the majority."


def test_feedback_is_empty_until_a_lead_settles_a_flag(project, results, labeler_a):
    assert labeler_feedback(user=labeler_a, project=project) == []
    html = Template('{% include "annotations/_my_feedback.html" %}').render(
        Context({"feedback": labeler_feedback(user=labeler_a, project=project)})
    )
    assert "No feedback yet" in html


def test_instruction_excerpt_prefers_the_worked_example_then_the_class(project, results, lead):
    missing = Flag.objects.get(pk=results["missing"].pk)
    missing.instruction_version = instructions_current(project=project)
    assert instruction_excerpt(flag=missing) == "Box every car and truck."


@pytest.mark.usefixtures("empty_cache")
def test_report_says_its_figures_are_updating_only_while_a_summary_is_on_its_way(project, results):
    report_figures_refresh(project=project)
    assert project_report(project=project)["figures_pending"] is False
    cache.set(summary_key(project.pk), 1)  # an upload or a submit scheduled the next summary
    assert project_report(project=project)["figures_pending"] is True
    cache.delete(summary_key(project.pk))
    cache.set(summary_key(project.pk, "running"), 1)
    assert project_report(project=project)["figures_pending"] is True
