"""A recompute chunk whose worker died is sent again by the sweep within minutes, not after
Redis's visibility timeout (an hour); the run then ends exactly as an uninterrupted one."""

from datetime import timedelta

import pytest
from django.utils import timezone

from quality.enqueue import recompute_start
from quality.models import AgreementRun, ConsensusBox, Flag, ImageAgreement
from quality.selectors.labels import project_image_ids_to_assess
from quality.selectors.sweep import images_to_sweep
from quality.services.runs import run_chunk_assess, run_chunk_claim, run_chunks
from quality.tasks import sweep_unassessed_task

pytestmark = pytest.mark.django_db


def _results(project):
    flags = Flag.objects.filter(project=project)
    return (
        sorted(ImageAgreement.objects.values_list("image_id", "score", "input_digest")),
        sorted(flags.values_list("image_id", "kind", "key", "message")),
        sorted(ConsensusBox.objects.values_list("image_id", "index", "label_class_id", "x", "y")),
    )


def _forget_results():
    ImageAgreement.objects.all().delete()
    Flag.objects.all().delete()
    ConsensusBox.objects.all().delete()


def _run_killed_in_its_second_chunk(project, minutes_ago: float) -> AgreementRun:
    """A run as a kill -9 leaves it: chunk 1 done, chunk 2 claimed and never finished, the
    rest not started (their messages wait with the dead worker's for the visibility timeout)."""
    chunks = run_chunks(project_image_ids_to_assess(project_id=project.pk))
    then = timezone.now() - timedelta(minutes=minutes_ago)
    run = AgreementRun.objects.create(
        project=project,
        state="running",
        total=sum(len(c) for c in chunks),
        started_at=then,
        heartbeat_at=then,
        params={"chunks": {str(c[0]): [c[0], c[-1], len(c)] for c in chunks}},
    )
    AgreementRun.objects.filter(pk=run.pk).update(created_at=then)
    run_chunk_claim(run_id=run.pk, image_ids=chunks[0])
    run_chunk_assess(run_id=run.pk, image_ids=chunks[0])
    run_chunk_claim(run_id=run.pk, image_ids=chunks[1])
    run.refresh_from_db()
    run.params["claimed"] = {k: then.isoformat() for k in run.params["claimed"]}
    AgreementRun.objects.filter(pk=run.pk).update(params=run.params, heartbeat_at=then)
    return run


def test_the_sweep_redoes_a_killed_run_and_it_ends_as_an_uninterrupted_one(
    demo, django_capture_on_commit_callbacks
):
    expected = _results(demo)
    _forget_results()
    run = _run_killed_in_its_second_chunk(demo, minutes_ago=5)

    with django_capture_on_commit_callbacks(execute=True):
        sweep_unassessed_task()

    run.refresh_from_db()
    assert (run.state, run.done, run.total, run.error) == ("succeeded", 60, 60, "")
    assert _results(demo) == expected
    keys = list(Flag.objects.values_list("image_id", "key"))
    assert len(keys) == len(set(keys))


def test_a_run_whose_chunks_are_fresh_is_left_alone(demo, django_capture_on_commit_callbacks):
    _forget_results()
    run = _run_killed_in_its_second_chunk(demo, minutes_ago=1)  # within a chunk's time limit

    with django_capture_on_commit_callbacks(execute=True):
        assert sweep_unassessed_task() == 0

    run.refresh_from_db()
    assert (run.state, run.done) == ("running", 25)
    assert "redispatched" not in run.params


def test_a_silent_run_younger_than_an_hour_no_longer_hides_its_project_from_the_sweep(demo):
    _forget_results()
    _run_killed_in_its_second_chunk(demo, minutes_ago=10)
    now = timezone.now()
    found = images_to_sweep(
        limit=100,
        settled_before=now,
        runs_after=now - timedelta(minutes=5),
    )
    assert len(found.get(demo.pk, [])) == 35  # chunk 1's 25 images are assessed


def test_a_chunk_sent_again_and_delivered_again_late_changes_nothing(
    demo, django_capture_on_commit_callbacks
):
    """The killed chunk's own message comes back after the visibility timeout: no double count,
    no second flag, the finished run stays finished."""
    _forget_results()
    run = _run_killed_in_its_second_chunk(demo, minutes_ago=5)
    with django_capture_on_commit_callbacks(execute=True):
        sweep_unassessed_task()
    after = _results(demo)

    from quality.tasks import assess_chunk_task, finish_run_task

    second = run_chunks(project_image_ids_to_assess(project_id=demo.pk))[1]
    with django_capture_on_commit_callbacks(execute=True):
        assess_chunk_task.apply(args=(run.pk, second)).get()
        finish_run_task.apply(args=([],), kwargs={"run_id": run.pk}).get()

    run.refresh_from_db()
    assert (run.state, run.done) == ("succeeded", 60)
    assert _results(demo) == after


def test_a_recompute_records_its_chunks_and_heartbeat(demo, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        run = recompute_start(project=demo, reason="test")
    run.refresh_from_db()
    assert len(run.params["chunks"]) == 3
    assert set(run.params["claimed"]) == set(run.params["chunks"]) == set(run.params["chunks_done"])
    assert run.heartbeat_at is not None and run.state == "succeeded"
