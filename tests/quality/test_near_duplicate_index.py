"""Near duplicates through the band index: the database's bands are the engine's, a submit's
lookup reads the images that share a band with it (not the project's hashes), and hashes right
at the threshold are found exactly, on PostgreSQL and on SQLite."""

import numpy as np
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from projects.models import Image
from quality.engine import ENGINE_VERSION
from quality.engine.figures import FIGURES_VERSION
from quality.engine.near_duplicates import PHASH_BANDS, phash_bands
from quality.models import Flag, ImageAgreement
from quality.selectors.labels import PHASH_BAND_FIELDS, near_duplicate_candidates
from quality.services.assessment import image_assess
from tests.factories import ImageFactory
from tests.quality.labels import submit
from tests.quality.reads import rows_read

pytestmark = pytest.mark.django_db

BASE = 0x0123_4567_89AB_CDEF
EXTREMES = [0, -1, -(2**63), 2**63 - 1, 1, -2, BASE, -BASE]


def _signed(h: int) -> int:
    return h - 2**64 if h >= 2**63 else h


def _flip(h: int, bits) -> int:
    for bit in bits:
        h ^= 1 << bit
    return _signed(h & 0xFFFF_FFFF_FFFF_FFFF)


def _bands(pks) -> list[list[int]]:
    return [list(Image.objects.values_list(*PHASH_BAND_FIELDS).get(pk=pk)) for pk in pks]


def _background(project, n: int, seed: int = 1) -> list[int]:
    """n assessed images of the project with random hashes (rows only, no files or labels)."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(-(2**63), 2**63 - 1, n, dtype=np.int64).tolist()
    images = Image.objects.bulk_create(
        Image(
            project=project,
            file=f"bg/{seed}-{k}.png",
            original_name=f"bg{seed}-{k}.png",
            width=640,
            height=480,
            sha256=f"bg{seed}-{k:060x}",
            phash=h,
        )
        for k, h in enumerate(hashes)
    )
    now = timezone.now()
    ImageAgreement.objects.bulk_create(
        ImageAgreement(
            image=image,
            score=1.0,
            labeler_count=2,
            object_count=0,
            params={},
            engine_version=ENGINE_VERSION,
            figures_version=FIGURES_VERSION,
            input_digest="background",
            computed_at=now,
        )
        for image in images
    )
    return [image.pk for image in images]


def test_the_databases_bands_are_the_engines(project):
    rng = np.random.default_rng(4)
    hashes = EXTREMES + rng.integers(-(2**63), 2**63 - 1, 40, dtype=np.int64).tolist()
    images = [ImageFactory(project=project, phash=h) for h in hashes[:3]]
    images += Image.objects.bulk_create(
        Image(project=project, file="x.png", original_name=f"{k}", width=1, height=1,
              sha256=f"x{k:063x}", phash=h)
        for k, h in enumerate(hashes[3:])
    )  # fmt: skip
    pks = [image.pk for image in images]

    assert _bands(pks) == phash_bands(np.array(hashes, dtype=np.int64)).tolist()

    Image.objects.filter(pk=pks[0]).update(phash=BASE)  # whoever writes phash, bands follow
    Image.objects.filter(pk=pks[1]).update(phash=None)
    assert _bands(pks[:2]) == [phash_bands(np.array([BASE]))[0].tolist(), [None] * 5]
    assert len(PHASH_BAND_FIELDS) == len(PHASH_BANDS)


def _labeled(project, phash, labelers, cls):
    image = ImageFactory(project=project, phash=phash)
    for labeler in labelers:
        submit(image, labeler, [(cls, (10, 10, 50, 40))])
    return image


NEAR = [[3, 15, 30, 45], [11, 12, 24, 25], [12, 25, 38, 51], [63, 0, 24, 38], [26, 29, 31, 37]]
FAR = [[3, 15, 30, 45, 60], [11, 24, 37, 50, 63], [0, 12, 25, 38, 51], [0, 1, 2, 3, 4]]


def test_hashes_at_the_threshold_are_flagged_exactly(project, labeler_a, labeler_b, classes):
    car, truck = classes
    _background(project, 50)
    base = _labeled(project, BASE, (labeler_a, labeler_b), car)
    image_assess(image_id=base.pk)
    near = [_labeled(project, _flip(BASE, bits), (labeler_a, labeler_b), truck) for bits in NEAR]
    far = [_labeled(project, _flip(BASE, bits), (labeler_a, labeler_b), truck) for bits in FAR]
    for image in near + far:  # each submit finds its twins among the assessed images
        image_assess(image_id=image.pk)

    flags = Flag.objects.filter(kind="near_duplicate_conflict")
    assert sorted(flags.values_list("image_id", "other_image_id")) == [
        (base.pk, image.pk) for image in near
    ]
    # The same from the other side: the base image submitted last finds every near twin.
    [(_, targets, items)] = near_duplicate_candidates(image_ids=[base.pk])
    assert targets == [base.pk]
    assert [pk for pk, _, _ in items] == sorted([base.pk] + [image.pk for image in near])


def test_a_submits_lookup_probes_the_band_index(project, labeler_a, labeler_b, classes):
    car, _ = classes
    _background(project, 20)
    image = _labeled(project, BASE, (labeler_a, labeler_b), car)
    image_assess(image_id=image.pk)

    with CaptureQueriesContext(connection) as queries:
        near_duplicate_candidates(image_ids=[image.pk])

    hashes_read = [q["sql"] for q in queries.captured_queries if '"phash"' in q["sql"]]
    assert len(hashes_read) == 2  # the image's own row, then the candidates
    for field in PHASH_BAND_FIELDS:  # one equality probe per band
        assert f'"{field}" IN' in hashes_read[1]


def test_a_submits_lookup_reads_the_band_matches_not_the_projects_hashes(
    project, labeler_a, labeler_b, classes
):
    car, truck = classes
    background = _background(project, 400)
    twin_hash = _flip(BASE, [3, 15, 30, 45])
    twin = _labeled(project, twin_hash, (labeler_a, labeler_b), truck)
    image_assess(image_id=twin.pk)
    image = _labeled(project, BASE, (labeler_a, labeler_b), car)
    image_assess(image_id=image.pk)
    hashes = np.array(
        list(Image.objects.filter(pk__in=background).values_list("phash", flat=True)),
        dtype=np.int64,
    )
    sharing = int((phash_bands(hashes) == phash_bands(np.array([BASE]))).any(axis=1).sum())

    with rows_read("projects_image", "quality_imageagreement") as read:
        [(_, _, items)] = near_duplicate_candidates(image_ids=[image.pk])

    assert [pk for pk, _, _ in items] == sorted([twin.pk, image.pk])
    # The image itself (its own row, then once per band), its twin, and the few background
    # images sharing a band value, each with its agreement (and versions of the two rows this
    # transaction updated that an index still points at): never the 400.
    assert read["projects_image"] <= 3 * (1 + 5 + 1 + sharing), read
    assert read["quality_imageagreement"] <= 3 * (1 + 5 + 1 + sharing), read


def test_a_submits_assessment_reads_rows_of_the_image_not_of_the_project(
    project, labeler_a, labeler_b, classes
):
    car, truck = classes
    _background(project, 300)
    image = ImageFactory(project=project, phash=BASE)
    submit(image, labeler_a, [(car, (10, 10, 50, 40)), (car, (200, 200, 60, 40))])
    submit(image, labeler_b, [(truck, (11, 10, 50, 40)), (car, (201, 200, 60, 40))])

    tables = ("projects_image", "quality_imageagreement", "quality_flag",
              "annotations_annotation", "annotations_box", "quality_consensusbox")  # fmt: skip
    with rows_read(*tables) as read:
        image_assess(image_id=image.pk)

    assert Flag.objects.filter(image=image, kind="label_conflict").count() == 1
    assert max(read.values()) < 20, read  # the project holds 301 assessed images
