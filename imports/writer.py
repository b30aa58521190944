"""Imported label sets written as submitted annotations, with their boxes (one file at a time).

The caller matched the file's images, raters and classes; here label sets on unknown images,
label sets a rater already has on an image (a re-import), and boxes with nothing inside the
image are left out and counted, then the rest is inserted in bulk (COPY on PostgreSQL: a file
of a couple of million boxes is written in seconds). Boxes are clipped to the image; boxes
given as fractions of the image's size (YOLO, Label Studio) are scaled by the stored size;
coordinates are kept to 1/10,000 pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from django.db import connection
from django.utils import timezone

from annotations.models import Annotation, Box
from imports.formats.types import LabelSets
from imports.matching import AMBIGUOUS, ProjectImages
from quality.dbcopy import arrays_insert, is_postgresql

EXAMPLES = 5
DECIMALS = 4


@dataclass
class Skipped:
    """Label sets or boxes left out for one reason: how many, and a few examples."""

    reason: str
    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str, n: int = 1) -> None:
        self.count += n
        if example and len(self.examples) < EXAMPLES and example not in self.examples:
            self.examples.append(example)

    def as_dict(self) -> dict:
        return {"reason": self.reason, "count": self.count, "examples": self.examples}


@dataclass
class Written:
    label_sets: int = 0
    empty_label_sets: int = 0
    boxes: int = 0
    image_ids: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def label_sets_write(
    *,
    sets: LabelSets,
    images: ProjectImages,
    set_users: np.ndarray,
    user_names: dict[int, str],
    class_ids: np.ndarray,
    kind: str,
) -> Written:
    """Write the file's label sets; call inside the file's transaction.

    ``set_users``: the user id of each label set; ``class_ids``: per label code, the class id
    or -1 (boxes of an ignored class: left out, counted).
    """
    out = Written()
    labeled = Skipped("the rater already has labels on this image (imported before?)")
    ignored = Skipped("boxes of classes chosen to be ignored")
    outside = Skipped("boxes with nothing inside the image")

    set_image, unplaced = sets_images(sets, images)
    keep = set_image >= 0

    # One annotation per (image, rater): sets of one pair in the file are merged.
    pairs = np.column_stack([set_image, set_users]).astype(np.int64)
    taken = _labeled_pairs(pairs[keep])
    target = np.full(sets.set_count, -1, dtype=np.int64)
    new_pairs: dict[tuple[int, int], int] = {}
    for s in np.flatnonzero(keep).tolist():
        pair = (int(pairs[s, 0]), int(pairs[s, 1]))
        if pair in taken:
            labeled.add(f"{user_names[pair[1]]} on {sets.images[sets.set_image[s]].name}")
            continue
        target[s] = new_pairs.setdefault(pair, len(new_pairs))

    # Boxes of the kept sets, in pixels, clipped; codes to classes.
    box_target = target[sets.box_set] if sets.box_count else np.zeros(0, np.int64)
    box_class = class_ids[sets.box_label] if sets.box_count else np.zeros(0, np.int64)
    live = box_target >= 0
    ignored.add("", int((live & (box_class < 0)).sum()))
    live &= box_class >= 0
    order = list(new_pairs)
    pair_image = np.array([p[0] for p in order], dtype=np.int64)
    size = np.array([images.size[i] for i in pair_image.tolist()], dtype=np.float64).reshape(-1, 2)
    owner = box_target[live]
    x1, y1, w, h, inside = boxes_in_pixels(sets.xywh[live], size[owner], sets.fractions)
    outside.add("", int((~inside).sum()))

    annotation_ids = _annotations_insert(order, kind)
    score = sets.score[live][inside]
    arrays_insert(
        Box,
        {
            "annotation_id": annotation_ids[owner[inside]],
            "label_class_id": box_class[live][inside].astype(np.int64),
            "x": x1[inside],
            "y": y1[inside],
            "width": w[inside],
            "height": h[inside],
            "score": np.nan_to_num(score, nan=0.0),
        },
        {"score": np.isnan(score)},
    )
    per_set = np.bincount(owner[inside], minlength=len(order))
    out.label_sets = len(order)
    out.empty_label_sets = int((per_set == 0).sum())
    out.boxes = int(inside.sum())
    out.image_ids = sorted(set(pair_image.tolist()))
    out.skipped = [s for s in (*unplaced, labeled, ignored, outside) if s.count]
    return out


def sets_images(sets: LabelSets, images: ProjectImages) -> tuple[np.ndarray, list[Skipped]]:
    """Per label set of the file, the project image it is on, or -1 where no image or several
    have its name, or the file gives the image another size than the stored one (boxes in
    pixels would not fit it); and those three, counted with examples."""
    not_found = Skipped("no image of the project has this name (upload the image with the labels)")
    ambiguous = Skipped("several images of the project have this name")
    resized = Skipped("the file gives another size for the image than the stored one")
    found = np.array([images.find(ref) for ref in sets.images], dtype=np.int64)
    set_image = found[sets.set_image] if sets.set_count else np.zeros(0, np.int64)
    for s in np.flatnonzero(set_image < 0).tolist():
        ref = sets.images[sets.set_image[s]]
        (ambiguous if set_image[s] == AMBIGUOUS else not_found).add(_ref_name(ref))
    if not sets.fractions:
        for s in np.flatnonzero(set_image >= 0).tolist():
            ref = sets.images[sets.set_image[s]]
            stored = images.size[int(set_image[s])]
            if ref.width and ref.height and (ref.width, ref.height) != stored:
                set_image[s] = -1
                resized.add(f"{_ref_name(ref)}: {ref.width}x{ref.height} in the file, "
                            f"{stored[0]}x{stored[1]} stored")  # fmt: skip
    return set_image, [not_found, ambiguous, resized]


def boxes_in_pixels(xywh: np.ndarray, size: np.ndarray, fractions: bool):
    """Boxes (x, y, width, height, one row each; in pixels, or ``fractions`` of their image's
    size) clipped to their image's ``size`` (width, height per box): x, y, width, height in
    pixels, and whether anything is left inside."""
    if fractions:
        xywh = xywh * np.tile(size, 2)
    x1 = np.clip(xywh[:, 0], 0, size[:, 0])
    y1 = np.clip(xywh[:, 1], 0, size[:, 1])
    x2 = np.clip(xywh[:, 0] + xywh[:, 2], 0, size[:, 0])
    y2 = np.clip(xywh[:, 1] + xywh[:, 3], 0, size[:, 1])
    # 1/10,000 pixel: far finer than any format's precision, without float noise (a YOLO
    # fraction times the width gives 31.999999999999993 for 32).
    x1, y1 = np.round(x1, DECIMALS), np.round(y1, DECIMALS)
    w, h = np.round(x2 - x1, DECIMALS), np.round(y2 - y1, DECIMALS)
    return x1, y1, w, h, (w > 0) & (h > 0)


def _ref_name(ref) -> str:
    return ref.name or f"id {ref.concord_id}"


def _labeled_pairs(pairs: np.ndarray) -> set[tuple[int, int]]:
    """Which (image, user) pairs already have an annotation (of any kind)."""
    if not len(pairs):
        return set()
    images = np.unique(pairs[:, 0]).tolist()
    users = np.unique(pairs[:, 1]).tolist()
    found = set()
    for start in range(0, len(images), 20000):
        found.update(
            Annotation.objects.filter(
                image_id__in=images[start : start + 20000], labeler_id__in=users
            ).values_list("image_id", "labeler_id")
        )
    return found


def _annotations_insert(pairs: list[tuple[int, int]], kind: str) -> np.ndarray:
    """Insert submitted annotations for (image, user) pairs; their ids, in the pairs' order."""
    now = timezone.now()
    if not pairs:
        return np.zeros(0, dtype=np.int64)
    if is_postgresql():
        # One statement over two arrays; the new ids are matched back by their (unique) pair.
        with connection.cursor() as cursor:
            cursor.execute(
                f"""INSERT INTO {Annotation._meta.db_table} (image_id, labeler_id, kind,
                        status, started_at, updated_at, submitted_at, active_seconds)
                    SELECT pair.image_id, pair.labeler_id, %s, %s, %s, %s, %s, 0
                    FROM unnest(%s::bigint[], %s::bigint[]) AS pair(image_id, labeler_id)
                    RETURNING id, image_id, labeler_id""",
                [kind, Annotation.Status.SUBMITTED, now, now, now,
                 [image for image, _ in pairs], [user for _, user in pairs]],
            )  # fmt: skip
            ids = {(image, user): pk for pk, image, user in cursor.fetchall()}
        return np.array([ids[pair] for pair in pairs], dtype=np.int64)
    created = Annotation.objects.bulk_create(
        [
            Annotation(
                image_id=image,
                labeler_id=user,
                kind=kind,
                status=Annotation.Status.SUBMITTED,
                submitted_at=now,
            )
            for image, user in pairs
        ]
    )
    return np.array([a.pk for a in created], dtype=np.int64)
