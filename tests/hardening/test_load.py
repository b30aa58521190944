"""A short crowd run (bench/load.py's labelers) against the live server and a real worker.

The figures live in BENCHMARKS.md (bench/load.py, 50 labelers x 60 s); this run asserts only the
invariants: no image over its N label sets, no submission lost or changed, every complete image
assessed once the worker has drained.
"""

import pytest
from django.utils import timezone

from bench.load import crowd_run, invariant_problems, seed_project, wait_assessed

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True)]

LABELERS = 10
SECONDS = 8


def test_a_crowd_of_labelers_loses_nothing_and_never_overfills_an_image(live_server):
    project, usernames, class_ids = seed_project(
        images=40, labelers=LABELERS, per_image=3, prefix="crowd"
    )
    since = timezone.now()

    result = crowd_run(
        live_server.url,
        project.pk,
        usernames,
        class_ids,
        duration=SECONDS,
        think=0.02,
        autosaves=2,
    )

    assert result.errors == []
    assert len(result.submitted) >= 2 * LABELERS  # the crowd really labeled
    assert result.statuses[("queue_next", 200)] >= len(result.submitted)
    missing, _ = wait_assessed(project.pk, timeout=30, since=since)
    assert missing == []
    assert invariant_problems(project.pk, result.submitted, since) == []
