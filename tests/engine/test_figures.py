"""Per-image figures (quality/engine/figures.py) fold to what the engine computes on the whole batch.

The project summary adds stored per-image rows instead of assessing the project again, so every
figure it shows must equal the batch computation: class confusion, the score histogram, K-alpha,
pairwise F1 per labeler, boxes per image, per-class sums. Checked on adversarial scenes (rows,
crowds, duplicates, loose boxes, 2-7 labelers) and on edge cases (no boxes, one labeler's boxes).
"""

import math

import numpy as np
import pytest

from quality.engine import BoxBatch, LabelSet, assess_batch, class_confusion, kalpha
from quality.engine.figures import (
    ASSESSED_FLAG_KINDS,
    HISTOGRAM_BINS,
    batch_figures,
    score_bins,
)
from tests.engine import scenes as sc


@pytest.fixture(scope="module")
def assessed():
    scenes = sc.make_scenes(300, (2, 7), seed=44)
    images = [list(s.label_sets) for s in scenes]
    images.append([LabelSet("ann", np.zeros((0, 4)), []), LabelSet("bob", np.zeros((0, 4)), [])])
    images.append(
        [
            LabelSet("ann", np.array([[1, 1, 5, 5.0]]), ["car"]),
            LabelSet("bob", np.zeros((0, 4)), []),
        ]
    )
    batch = BoxBatch.from_label_sets(images)
    result = assess_batch(batch)
    return batch, result, batch_figures(result)


def test_confusion_rows_fold_to_the_batch_matrix(assessed):
    batch, result, fig = assessed
    labels, matrix = class_confusion(result)
    folded = np.zeros_like(matrix)
    np.add.at(folded, (fig.confusion_a, fig.confusion_b), fig.confusion_count)
    assert (folded == matrix).all()
    assert matrix.sum() > 0


def test_score_bins_are_numpys_histogram(assessed):
    _, result, fig = assessed
    expected = np.histogram(result.image_score, bins=HISTOGRAM_BINS, range=(0, 1))[0]
    assert (np.bincount(fig.image_score_bin, minlength=HISTOGRAM_BINS) == expected).all()
    edges = np.linspace(0, 1, HISTOGRAM_BINS + 1)
    on_edges = np.concatenate([edges, np.nextafter(edges, -1)[1:], [0.30000000000000004]])
    on_edges = np.clip(on_edges, 0, 1)
    for value in on_edges:
        want = np.histogram([value], bins=HISTOGRAM_BINS, range=(0, 1))[0].argmax()
        assert score_bins(np.array([value]))[0] == want, value


def test_kalpha_mean_of_stored_images_is_the_batch_kalpha(assessed):
    batch, _, fig = assessed
    assert math.isclose(fig.image_kalpha.mean(), kalpha(batch, 0.5).mean, rel_tol=1e-12)


def test_pair_f1_per_labeler_and_boxes(assessed):
    batch, result, fig = assessed
    for code in range(len(batch.labeler_names)):
        in_pair = (result.pair_labeler_a == code) | (result.pair_labeler_b == code)
        mine = batch.set_labeler == code
        assert math.isclose(fig.set_pair_f1_sum[mine].sum(), result.pair_f1[in_pair].sum())
        assert fig.set_pair_count[mine].sum() == in_pair.sum()
        boxes = np.isin(batch.box_set, np.flatnonzero(mine)).sum()
        assert fig.set_boxes[mine].sum() == boxes


def test_class_rows_sum_objects(assessed):
    _, result, fig = assessed
    for code in np.unique(result.object_label).tolist():
        objects = result.object_label == code
        rows = fig.class_code == code
        assert fig.class_objects[rows].sum() == objects.sum()
        assert math.isclose(fig.class_support_sum[rows].sum(), result.object_support[objects].sum())
        iou = result.object_mean_iou[objects]
        assert fig.class_iou_count[rows].sum() == (~np.isnan(iou)).sum()
        assert math.isclose(fig.class_iou_sum[rows].sum(), np.nansum(iou), abs_tol=1e-9)
    # per image: each image's rows count that image's objects
    per_image = np.bincount(
        fig.class_image, weights=fig.class_objects, minlength=len(fig.image_score)
    )
    assert (per_image == np.bincount(result.object_image, minlength=len(fig.image_score))).all()


def test_an_image_alone_gives_its_rows_of_the_batch(assessed):
    """Figures are per image: assessing one image alone gives the rows it had in the batch."""
    batch, result, fig = assessed
    i = 7
    alone = assess_batch(_one_image(batch, i))
    one = batch_figures(alone)
    assert one.image_score_bin[0] == fig.image_score_bin[i]
    assert math.isclose(one.image_kalpha[0], fig.image_kalpha[i])
    mine = fig.confusion_image == i
    assert sorted(one.confusion_count.tolist()) == sorted(fig.confusion_count[mine].tolist())


def _one_image(batch: BoxBatch, i: int) -> BoxBatch:
    sets = np.flatnonzero(batch.set_image == i)
    rows = np.flatnonzero(np.isin(batch.box_set, sets))
    return BoxBatch.from_arrays(
        np.zeros(len(rows), dtype=np.int64),
        batch.set_labeler[batch.box_set[rows]],
        batch.xywh[rows],
        batch.label[rows],
        labeler_names=batch.labeler_names,
        label_names=batch.label_names,
        n_images=1,
        label_sets=(np.zeros(len(sets), dtype=np.int64), batch.set_labeler[sets]),
    )


def test_flag_counts_per_label_set_name_who_deviates(assessed):
    """Per labeler and kind: flags where they deviate, and tied flags they are in, as the
    per-flag view of the result says."""
    batch, result, fig = assessed
    want_odd, want_tied = {}, {}
    for image in result:
        for flag in image.flags:
            if flag.kind == "near_duplicate_conflict":
                continue
            if flag.deviating:
                for name in flag.deviating:
                    want_odd[name, flag.kind] = want_odd.get((name, flag.kind), 0) + 1
            else:
                for name in flag.labelers:
                    want_tied[name, flag.kind] = want_tied.get((name, flag.kind), 0) + 1
    assert want_odd and want_tied
    for counts, want in ((fig.set_flags_deviating, want_odd), (fig.set_flags_tied, want_tied)):
        got = {}
        for s, k in zip(*np.nonzero(counts), strict=True):
            key = (batch.labeler_names[batch.set_labeler[s]], ASSESSED_FLAG_KINDS[k])
            got[key] = got.get(key, 0) + int(counts[s, k])
        assert got == want
