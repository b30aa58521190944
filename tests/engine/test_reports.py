"""Class confusion, agreement with a reference, near-duplicate images, the columnar API."""

import numpy as np

from quality.engine import (
    BoxBatch,
    LabelSet,
    agreement_with_reference,
    assess_batch,
    assess_many,
    class_confusion,
    near_duplicate_conflicts,
)

A = np.array([[0, 0, 10, 10], [50, 0, 10, 10]], dtype=float)


def test_class_confusion_counts_matched_boxes_both_ways():
    images = [
        [LabelSet("ann", A, ["car", "bus"]), LabelSet("bob", A, ["truck", "bus"])],
        [LabelSet("ann", A[:1], ["car"]), LabelSet("bob", A[1:], ["car"])],  # nothing matched
    ]
    labels, matrix = class_confusion(images)
    assert labels == ("bus", "car", "truck")
    assert matrix.tolist() == [[2, 0, 0], [0, 0, 1], [0, 1, 0]]


def test_agreement_with_reference_per_labeler():
    images = [
        [LabelSet("ann", A, ["car", "bus"]), LabelSet("bob", A[:1], ["truck"])],
        [LabelSet("ann", A, ["car", "car"]), LabelSet("bob", A, ["car", "car"])],
    ]
    references = [LabelSet("lead", A, ["car", "bus"]), None]
    result = agreement_with_reference(images, references)
    assert set(result) == {"ann", "bob"}
    assert result["ann"].f1 == 1.0 and result["ann"].label_accuracy == 1.0
    assert result["bob"].matched == 1 and result["bob"].label_accuracy == 0.0
    assert result["bob"].images == 1


def test_near_duplicate_images_with_different_labels_are_flagged():
    h = 0x0123456789ABCDEF
    images = [
        (12, h, {"car": 3}),
        (40, h ^ 0b101, {"car": 2, "truck": 1}),  # 2 bits away, other labels
        (41, h ^ 0b11, {"car": 3}),  # 2 bits away, same labels
        (77, ~h & 0xFFFFFFFFFFFFFFFF, {"bus": 1}),  # far away
    ]
    flags = near_duplicate_conflicts(images, max_distance=4)
    assert [(f.kind, f.images, f.distance) for f in flags] == [
        ("near_duplicate_conflict", (12, 40), 2),
        ("near_duplicate_conflict", (40, 41), 2),
    ]
    assert (
        flags[0].message
        == "images 12 and 40 look the same but were labeled 3 car / 2 car + 1 truck"
    )


def test_near_duplicates_agree_with_brute_force():
    rng = np.random.default_rng(5)
    base = rng.integers(0, 2**63, 40, dtype=np.int64).tolist()
    hashes = []
    for b in base:
        for _ in range(3):
            flips = rng.choice(64, int(rng.integers(0, 7)), replace=False)
            hashes.append(b ^ int(sum(1 << int(f) for f in flips)))
    images = [(k, h, {"car": k}) for k, h in enumerate(hashes)]  # every image differs
    found = {f.images for f in near_duplicate_conflicts(images, max_distance=4)}
    brute = {
        (a, b)
        for a in range(len(hashes))
        for b in range(a + 1, len(hashes))
        if bin(hashes[a] ^ hashes[b]).count("1") <= 4
    }
    assert found == brute


def test_columnar_batch_gives_the_same_result_as_label_sets():
    rng = np.random.default_rng(1)
    images = []
    for _ in range(20):
        sets = []
        for name in ["cho", "ann", "bob"]:
            n = int(rng.integers(0, 5))
            boxes = np.c_[rng.integers(0, 60, (n, 2)), rng.integers(5, 40, (n, 2))].astype(float)
            sets.append(
                LabelSet(name, boxes, [["car", "bus"][int(v)] for v in rng.integers(0, 2, n)])
            )
        images.append(sets)
    per_image = assess_many(images)

    # The same data as flat arrays, the way the pipeline's selectors produce it.
    names = ["cho", "ann", "bob"]
    rows = [
        (i, names.index(s.labeler), *b, ["bus", "car"].index(label))
        for i, sets in enumerate(images)
        for s in sets
        for b, label in zip(s.boxes.tolist(), s.labels, strict=True)
    ]
    arr = np.array(rows, dtype=float)
    batch = BoxBatch.from_arrays(
        arr[:, 0].astype(int), arr[:, 1].astype(int), arr[:, 2:6], arr[:, 6].astype(int),
        labeler_names=names, label_names=["bus", "car"], n_images=len(images),
        label_sets=(np.repeat(np.arange(len(images)), 3), np.tile(np.arange(3), len(images))),
    )  # fmt: skip
    columnar = assess_batch(batch)
    np.testing.assert_array_equal(columnar.image_score, per_image.image_score)
    np.testing.assert_array_equal(columnar.flag_kind, per_image.flag_kind)
    for i in range(len(images)):
        a, b = columnar[i], per_image[i]
        assert [f.message for f in a.flags] == [f.message for f in b.flags]
        assert [(o.label, o.support) for o in a.objects] == [
            (o.label, o.support) for o in b.objects
        ]


def test_flag_labeler_codes_match_the_per_flag_view():
    images = [
        [LabelSet("ann", A, ["car", "bus"]), LabelSet("bob", A[:1], ["truck"])],
        [LabelSet("cho", A, ["car", "car"]), LabelSet("ann"), LabelSet("bob", A, ["car", "car"])],
    ]
    result = assess_many(images)
    ptr, codes = result.flag_labeler_codes()
    names = result.batch.labeler_names
    for f in range(len(result.flag_kind)):
        assert tuple(names[c] for c in codes[ptr[f] : ptr[f + 1]]) == result.flag(f).labelers
