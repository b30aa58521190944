"""flags_sync (set-based SQL on PostgreSQL, ORM elsewhere) and the near-twin index."""

import numpy as np
import pytest
from django.utils import timezone

from quality.engine.near_duplicates import near_twins
from quality.models import Flag
from quality.services.flags import FlagSpec, flags_sync
from tests.factories import ImageFactory

KINDS = ["label_conflict", "missing", "low_overlap", "grouping", "duplicate"]


def _spec(image, key, labelers, message="m", label_class=None, kind="missing"):
    return FlagSpec(
        image_id=image.pk,
        other_image_id=None,
        kind=kind,
        key=f"{kind}:{key}",
        labeler_ids=[u.pk for u in labelers],
        box_ids=[1, 2],
        label_class_id=label_class.pk if label_class else None,
        message=message,
    )


def _sync(project, images, specs):
    return flags_sync(
        project_id=project.pk, image_ids=[i.pk for i in images], kinds=KINDS, specs=specs
    )


@pytest.mark.django_db
def test_sync_keeps_found_flags_supersedes_settled_deletes_open_and_adds_new(
    project, labeler_a, labeler_b, classes
):
    car, truck = classes
    image, other = ImageFactory(project=project), ImageFactory(project=project)
    kept = _spec(image, "kept", [labeler_a, labeler_b], "old sentence", car)
    settled = _spec(image, "settled", [labeler_a])
    dropped = _spec(image, "dropped", [labeler_b])
    elsewhere = _spec(other, "elsewhere", [labeler_a])
    assert _sync(project, [image, other], [kept, settled, dropped, elsewhere]) == {
        image.pk,
        other.pk,
    }
    ids = dict(Flag.objects.values_list("key", "pk"))
    Flag.objects.filter(key=settled.key).update(
        status="resolved", resolution="accept_consensus", resolved_at=timezone.now()
    )

    new = _spec(image, "new", [labeler_b])
    changed = kept._replace(message="new sentence", label_class_id=truck.pk)
    touched = _sync(project, [image], [changed, new])

    assert touched == {image.pk}
    rows = {f.key: f for f in Flag.objects.all()}
    assert rows[kept.key].pk == ids[kept.key]
    assert (rows[kept.key].message, rows[kept.key].label_class_id) == ("new sentence", truck.pk)
    assert rows[settled.key].status == "superseded"
    assert dropped.key not in rows
    assert rows[elsewhere.key].pk == ids[elsewhere.key]  # another image: out of scope
    assert rows[new.key].status == "open"
    assert set(rows[new.key].labelers.all()) == {labeler_b}
    assert set(rows[kept.key].labelers.all()) == {labeler_a, labeler_b}
    assert not Flag.labelers.through.objects.filter(flag_id=ids[dropped.key]).exists()

    before = sorted(Flag.objects.values_list("pk", "key", "status", "message"))
    assert _sync(project, [image], [changed, new]) == set()  # again: nothing changes
    assert sorted(Flag.objects.values_list("pk", "key", "status", "message")) == before


@pytest.mark.django_db
def test_a_superseded_flag_found_again_comes_back_as_a_new_open_flag(project, labeler_a):
    image = ImageFactory(project=project)
    spec = _spec(image, "again", [labeler_a])
    _sync(project, [image], [spec])
    Flag.objects.update(status="dismissed", resolution="dismissed", resolved_at=timezone.now())
    _sync(project, [image], [])

    _sync(project, [image], [spec])

    assert sorted(Flag.objects.values_list("status", flat=True)) == ["open", "superseded"]


def test_near_twins_equal_brute_force():
    rng = np.random.default_rng(3)
    hashes = rng.integers(0, 2**63, 400, dtype=np.int64).view(np.uint64)
    hashes[200:260] = hashes[:60] ^ (np.uint64(1) << rng.integers(0, 64, 60).astype(np.uint64))
    hashes[260:300] = hashes[60:100] ^ np.uint64(0b11111)  # five bits: not near at 4
    hashes[300:310] = hashes[100]  # a group of equal hashes
    distance = np.bitwise_count(hashes[:, None] ^ hashes[None, :])
    np.fill_diagonal(distance, 64)
    for max_pairs in (7, 1_000_000):  # tiny blocks and one block
        assert (near_twins(hashes, 4, max_pairs) == (distance <= 4).any(axis=1)).all()


@pytest.fixture(params=["database", "orm"])
def sync_path(request, monkeypatch):
    """Both ways of syncing: the database's own (set-based SQL on PostgreSQL) and the ORM's."""
    if request.param == "orm":
        monkeypatch.setattr("quality.services.flags.is_postgresql", lambda: False)
    return request.param


@pytest.mark.django_db
def test_sync_stores_and_updates_who_deviates(project, labeler_a, labeler_b, sync_path):
    from quality.models import FlagLabeler

    image = ImageFactory(project=project)
    spec = _spec(image, "k", [labeler_a, labeler_b])._replace(deviating_ids=(labeler_b.pk,))
    tie = _spec(image, "tie", [labeler_a, labeler_b])
    _sync(project, [image], [spec, tie])

    def marks():
        return set(FlagLabeler.objects.values_list("flag__key", "user__username", "deviating"))

    assert marks() == {
        (spec.key, "labeler_a", False),
        (spec.key, "labeler_b", True),
        (tie.key, "labeler_a", False),
        (tie.key, "labeler_b", False),
    }
    ids = set(Flag.objects.values_list("pk", flat=True))
    # Found again with another labeler in the minority: same rows, marks moved.
    _sync(project, [image], [spec._replace(deviating_ids=(labeler_a.pk,)), tie])
    assert set(Flag.objects.values_list("pk", flat=True)) == ids
    assert marks() == {
        (spec.key, "labeler_a", True),
        (spec.key, "labeler_b", False),
        (tie.key, "labeler_a", False),
        (tie.key, "labeler_b", False),
    }


@pytest.mark.django_db
def test_sync_stores_and_updates_how_large_the_disagreement_is(project, labeler_a, sync_path):
    image = ImageFactory(project=project)
    spec = _spec(image, "k", [labeler_a], kind="low_overlap")._replace(severity=0.4)
    _sync(project, [image], [spec])
    flag = Flag.objects.get()
    assert flag.severity == 0.4
    _sync(project, [image], [spec._replace(severity=0.55)])  # found again, another IoU
    assert Flag.objects.get().pk == flag.pk
    assert Flag.objects.get().severity == 0.55
