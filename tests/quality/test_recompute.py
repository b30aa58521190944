import numpy as np
import pytest

from quality.engine import AgreementParams, LabelSet, assess_many
from quality.enqueue import recompute_start
from quality.models import AgreementRun, ConsensusBox, Flag, ImageAgreement, LabelerAgreement
from quality.selectors.labels import images_labels, project_image_ids_to_assess
from quality.services.runs import run_chunk_assess, run_chunks

pytestmark = pytest.mark.django_db


def _snapshot():
    return (
        sorted(ImageAgreement.objects.values_list("image_id", "score", "input_digest")),
        sorted(Flag.objects.values_list("pk", "image_id", "key", "status")),
        ConsensusBox.objects.count(),
        Flag.labelers.through.objects.count(),
    )


def test_demo_ends_with_a_complete_recompute(demo):
    run = AgreementRun.objects.get(project=demo)
    assert (run.state, run.done, run.total) == ("succeeded", 60, 60)
    assert run.started_at and run.finished_at and not run.error
    assert ImageAgreement.objects.filter(image__project=demo).count() == 60
    kinds = set(Flag.objects.filter(project=demo).values_list("kind", flat=True))
    assert {"label_conflict", "missing", "grouping", "near_duplicate_conflict"} <= kinds


def test_stored_scores_and_flags_equal_the_engine_on_demo_data(demo):
    ids = sorted(ImageAgreement.objects.values_list("image_id", flat=True))
    (labels,) = images_labels(image_ids=ids)
    b = labels.batch
    per_image = []
    for i in range(len(ids)):
        sets = []
        for s in np.flatnonzero(b.set_image == i).tolist():
            rows = np.flatnonzero(b.box_set == s)
            names = [b.label_names[c] for c in b.label[rows].tolist()]
            sets.append(LabelSet(b.labeler_names[b.set_labeler[s]], b.xywh[rows], names))
        per_image.append(sets)
    expected = assess_many(
        per_image, AgreementParams(match_iou=demo.match_iou, low_iou=demo.low_iou)
    )
    stored = dict(ImageAgreement.objects.values_list("image_id", "score"))
    assert [stored[pk] for pk in ids] == pytest.approx([e.score for e in expected])
    for pk, assessment in zip(ids, expected, strict=True):
        got = sorted(
            Flag.objects.filter(image_id=pk)
            .exclude(kind="near_duplicate_conflict")
            .values_list("kind", "message")
        )
        assert got == sorted((f.kind, f.message) for f in assessment.flags)
        assert ConsensusBox.objects.filter(image_id=pk).count() == sum(
            o.consensus for o in assessment.objects
        )


def test_project_and_labeler_figures_are_filled(demo):
    summary = demo.agreement
    assert summary.images_assessed == 60
    assert 0 < summary.kalpha <= 1
    assert 0 < summary.mean_score <= 1
    assert [t for t, _ in summary.threshold_sweep] == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert set(summary.class_confusion["labels"]) <= {"car", "truck", "person", "bicycle"}
    matrix = np.array(summary.class_confusion["matrix"])
    assert (matrix == matrix.T).all() and matrix.trace() > 0
    assert set(summary.per_class) <= {"car", "truck", "person", "bicycle", "undecided"}
    assert sum(b["count"] for b in summary.score_histogram) == 60
    assert summary.by_instruction_version == [
        {
            "version": 1,
            "images": 60,
            "mean_score": pytest.approx(summary.mean_score),
            "kalpha": pytest.approx(summary.kalpha),
        }
    ]
    rows = {r.labeler.username: r for r in LabelerAgreement.objects.filter(project=demo)}
    assert set(rows) == {"ann", "bob", "cho"}
    for row in rows.values():
        assert row.images_submitted == 60
        assert 0 < row.agreement_with_peers < 1
        assert row.vitality is not None
        assert row.boxes_per_image > 0 and row.peer_boxes_per_image > 0
        assert row.median_seconds > 0
        assert sum(row.flag_counts.values()) > 0
    # A flag counts for the labeler who deviates (the demo's habits: ann groups rows of cars,
    # bob calls trucks cars and draws some boxes twice, cho draws loose boxes and skips small
    # objects), not for everyone involved in it.
    counts = {name: row.flag_counts for name, row in rows.items()}
    assert counts["ann"]["grouping"] > 0
    assert "grouping" not in counts["bob"] and "grouping" not in counts["cho"]
    assert counts["bob"].get("label_conflict", 0) > counts["ann"].get("label_conflict", 0)
    assert counts["bob"]["duplicate"] > counts["ann"].get("duplicate", 0)
    assert counts["cho"]["low_overlap"] > 10 * max(
        counts[n].get("low_overlap", 0) for n in ("ann", "bob")
    )
    assert counts["cho"]["missing"] > 10 * max(counts[n].get("missing", 0) for n in ("ann", "bob"))
    # Low overlaps between two boxes alone have no majority: counted apart, for both.
    assert rows["bob"].tied_flag_counts["low_overlap"] > 0
    # ann boxes a row of parked cars as one: fewer boxes per image than her peers
    assert rows["ann"].boxes_per_image < rows["ann"].peer_boxes_per_image


def test_second_recompute_changes_no_row_and_keeps_resolutions(
    demo, django_capture_on_commit_callbacks
):
    flag = Flag.objects.filter(kind="label_conflict").first()
    Flag.objects.filter(pk=flag.pk).update(
        status="dismissed", resolution="dismissed", resolved_at=flag.created_at
    )
    before = _snapshot()

    with django_capture_on_commit_callbacks(execute=True):
        run = recompute_start(project=demo, reason="again")

    run.refresh_from_db()
    assert (run.state, run.done) == ("succeeded", 60)
    assert _snapshot() == before


def test_interrupted_recompute_started_again_ends_complete(
    demo, django_capture_on_commit_callbacks
):
    ImageAgreement.objects.all().delete()
    Flag.objects.all().delete()
    ConsensusBox.objects.all().delete()
    killed = AgreementRun.objects.create(project=demo, state="running", total=60)
    first_chunk = run_chunks(project_image_ids_to_assess(project_id=demo.pk))[0]
    run_chunk_assess(run_id=killed.pk, image_ids=first_chunk)
    run_chunk_assess(run_id=killed.pk, image_ids=first_chunk)  # delivered twice
    killed.refresh_from_db()
    assert killed.done == 25  # counted once
    assert ImageAgreement.objects.count() == 25

    with django_capture_on_commit_callbacks(execute=True):
        run = recompute_start(project=demo, reason="resume")

    run.refresh_from_db()
    killed.refresh_from_db()
    assert (run.state, run.done, run.total) == ("succeeded", 60, 60)
    assert killed.state == "failed"
    assert ImageAgreement.objects.count() == 60
    keys = list(Flag.objects.values_list("image_id", "key"))
    assert len(keys) == len(set(keys))


def test_failing_chunk_marks_the_run_failed(demo, monkeypatch, django_capture_on_commit_callbacks):
    from quality.services import runs as services_runs

    def broken(**kwargs):
        raise ValueError("engine exploded")

    monkeypatch.setattr(services_runs, "images_assess", broken)
    with pytest.raises(ValueError), django_capture_on_commit_callbacks(execute=True):
        recompute_start(project=demo, reason="broken")
    run = AgreementRun.objects.latest("pk")
    assert run.state == "failed"
    assert "engine exploded" in run.error
