"""K-alpha against the reference implementation kalphacv (Tschirschwitz et al. 2022)."""

import math

import numpy as np
import pytest

from quality.engine import LabelSet, alpha_sweep, kalpha, vitality

NAMES = ["ann", "bob", "cho", "dan"]


def generated_images(n_images, seed):
    """Multi-labeler data: a shared truth with jitter, misses, extra boxes and class swaps."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n_images):
        k = int(rng.integers(2, 5))
        n = int(rng.integers(0, 7))
        truth = np.c_[rng.uniform(0, 300, (n, 2)), rng.uniform(10, 80, (n, 2))]
        classes = rng.integers(1, 4, n)
        sets = []
        for name in NAMES[:k]:
            keep = rng.random(n) > 0.15
            boxes = truth[keep] + rng.normal(0, 4, (int(keep.sum()), 4)) * [1, 1, 0.5, 0.5]
            labels = classes[keep].copy()
            swap = rng.random(len(labels)) < 0.15
            labels[swap] = rng.integers(1, 4, int(swap.sum()))
            if rng.random() < 0.3:
                boxes = np.r_[boxes, [[*rng.uniform(0, 300, 2), *rng.uniform(10, 80, 2)]]]
                labels = np.r_[labels, rng.integers(1, 4)]
            boxes[:, 2:] = np.maximum(boxes[:, 2:], 1)
            sets.append(LabelSet(name, boxes, [int(v) for v in labels]))
        images.append(sets)
    return images


def reference_alpha(sets, threshold):
    """kalphacv's per-image alpha, through its own preprocessing and matching."""
    pre = pytest.importorskip("kalphacv.pre_processing")
    reliability_data = pytest.importorskip("kalphacv.reliability_data")
    krippendorff_alpha = pytest.importorskip("kalphacv.krippendorff_alpha")
    coco = {"images": [], "annotations": []}
    ann_id = 0
    # kalphacv tells raters apart by image id and sorts them; ids follow the name order.
    for rater_id, s in enumerate(sorted(sets, key=lambda s: s.labeler), start=1):
        coco["images"].append({"id": rater_id, "file_name": "img.jpg", "width": 400, "height": 400})
        for b, label in zip(s.boxes.tolist(), s.labels, strict=True):
            ann_id += 1
            coco["annotations"].append(
                {"id": ann_id, "image_id": rater_id, "bbox": b, "category_id": label}
            )
    data = pre.Preprocess(coco, None, None, silent=True)
    name = data.image_names[0]
    rel = reliability_data.ReliabilityData(
        name,
        data.annotations_per_image[name],
        data.raters_per_image[name],
        data.size_per_image[name],
    )
    return krippendorff_alpha.calculate_alpha(rel.run("bbox", threshold))


@pytest.mark.parametrize("threshold", [0.5, 0.75])
def test_kalpha_matches_kalphacv_per_image(threshold):
    pytest.importorskip("kalphacv")
    images = generated_images(120, seed=7)
    ours = kalpha(images, threshold)
    reference = [reference_alpha(sets, threshold) for sets in images]
    differences = np.abs(np.array(ours.per_image) - np.array(reference))
    assert differences.max() <= 0.01, (differences.argmax(), ours.per_image[differences.argmax()])
    assert math.isclose(ours.mean, float(np.mean(reference)), abs_tol=0.01)


def test_kalpha_is_one_for_identical_labels_and_for_empty_images():
    box = np.array([[0, 0, 10, 10], [50, 50, 20, 20]], dtype=float)
    same = [LabelSet(n, box, ["car", "bus"]) for n in NAMES[:3]]
    empty = [LabelSet(n) for n in NAMES[:3]]
    result = kalpha([same, empty])
    assert result.per_image == [1.0, 1.0]
    assert result.mean == 1.0


def test_kalpha_of_a_class_swap_is_below_one():
    box = np.array([[0, 0, 10, 10], [50, 50, 20, 20]], dtype=float)
    images = [[LabelSet("ann", box, ["car", "bus"]), LabelSet("bob", box, ["car", "car"])]]
    assert kalpha(images).mean < 1.0


def test_alpha_sweep_covers_the_thresholds_and_loosens_with_lower_iou():
    images = generated_images(30, seed=3)
    sweep = alpha_sweep(images)
    assert list(sweep) == [0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    assert sweep[0.1] >= sweep[0.9]


def test_vitality_is_positive_for_a_good_labeler_and_negative_for_a_bad_one():
    rng = np.random.default_rng(0)
    images = []
    for _ in range(20):
        truth = np.c_[rng.uniform(0, 300, (5, 2)), np.full((5, 2), 40.0)]
        labels = [1, 2, 3, 1, 2]
        sets = [
            LabelSet(n, truth + rng.normal(0, 1, (5, 4)), labels) for n in ["ann", "bob", "cho"]
        ]
        sets.append(LabelSet("zed", rng.uniform(0, 300, (5, 4)) + [0, 0, 20, 20], [3, 3, 3, 3, 3]))
        images.append(sets)
    v = vitality(images)
    assert v["zed"] < 0 < v["ann"]


def tie_heavy_images(n_images, seed):
    """Integer boxes on a coarse grid: exact ties and competing candidates are common."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(n_images):
        k = int(rng.integers(1, 6))
        sets = []
        for name in ["ann", "bob", "cho", "dan", "eve"][:k]:
            m = int(rng.integers(0, 6))
            boxes = np.c_[rng.integers(0, 5, (m, 2)) * 5, rng.integers(1, 4, (m, 2)) * 5]
            sets.append(
                LabelSet(name, boxes.astype(float), [int(v) for v in rng.integers(1, 3, m)])
            )
        images.append(sets)
    return images


@pytest.mark.parametrize("threshold", [0.1, 0.3, 0.5, 0.75, 0.9])
def test_batched_kalpha_equals_the_per_image_reference(threshold):
    from quality.engine.kalpha import _reference_kalpha

    for images in (generated_images(300, seed=11), tie_heavy_images(300, seed=5)):
        # A single labeler with two classes makes the reference (krippendorff) raise.
        images = [s for s in images if len(s) >= 2]
        ours, reference = kalpha(images, threshold), _reference_kalpha(images, threshold)
        assert ours.per_image == reference.per_image
        assert ours.mean == reference.mean
        for name in ("ann", "cho"):
            kept = [s for s in images if len(s) >= 3 or name not in {x.labeler for x in s}]
            assert (
                kalpha(kept, threshold, exclude=name).per_image
                == _reference_kalpha(kept, threshold, exclude=name).per_image
            )


def test_batched_vitality_and_sweep_equal_the_per_image_reference():
    from quality.engine.kalpha import _reference_kalpha

    images = generated_images(150, seed=2)
    sweep = alpha_sweep(images)
    for t, value in sweep.items():
        assert value == _reference_kalpha(images, t).mean
    counts = {}
    for sets in images:
        for s in sets:
            counts.setdefault(s.labeler, []).append(len(sets))
    v = vitality(images)
    for name, value in v.items():
        keep = [s for s in images if name in {x.labeler for x in s} and len(s) >= 3]
        if not keep:
            assert math.isnan(value)
            continue
        expected = _reference_kalpha(keep).mean - _reference_kalpha(keep, exclude=name).mean
        assert math.isclose(value, expected, rel_tol=0, abs_tol=1e-12)


def test_batched_kalpha_of_a_single_labeler_behaves_like_the_reference():
    box = np.array([[0, 0, 10, 10], [50, 50, 20, 20]], dtype=float)
    assert kalpha([[LabelSet("ann", box, ["car", "car"])]]).per_image == [1.0]
    with pytest.raises(ValueError):
        kalpha([[LabelSet("ann", box, ["car", "bus"])]])
