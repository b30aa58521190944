"""A label file imported as gold: the true boxes of the images it names (target "gold").

The lead imports a COCO, YOLO or VOC file (or dataset) made for the images they want as gold;
each image the file lists becomes a gold image with the file's boxes (an image it lists with
no box: gold that holds nothing), through gold.services.gold_image_save, the one place gold
boxes are written: a gold image already there gets the new boxes, its version goes up and its
past answers are re-scored; the same boxes again change nothing. Images are matched by name as
labels are (imports.matching); unknown classes are refused, added or ignored as for labels.

A file is imported all or nothing (the caller's transaction): an image whose boxes gold cannot
take (two boxes of one object, too many boxes) refuses the file, naming the image.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from annotations.boxes import BoxesInvalid
from gold.models import GoldImage
from gold.services import GoldInvalid, gold_image_save
from imports.formats.types import LabelSets
from imports.matching import ProjectImages
from imports.writer import Skipped, boxes_in_pixels, sets_images
from projects.models import Image, Project

GOLD_FORMATS = ("coco", "yolo", "voc")
TARGETS = ("labels", "gold")


class GoldRefused(ValueError):
    """The file cannot be imported as gold; the message names the image and why."""


@dataclass
class GoldWritten:
    created: int = 0
    changed: int = 0  # gold images given new boxes: version up, answers re-scored
    unchanged: int = 0
    boxes: int = 0
    image_ids: list[int] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)


def gold_sets_write(
    *, project: Project, sets: LabelSets, images: ProjectImages, class_ids: np.ndarray, user
) -> GoldWritten:
    """Make each image the file lists gold with its boxes; call inside the file's transaction.

    ``class_ids``: per label code, the class id or -1 (an ignored class: its boxes left out,
    counted). Several label sets of one image in the file are merged.
    """
    out = GoldWritten()
    ignored = Skipped("boxes of classes chosen to be ignored")
    outside = Skipped("boxes with nothing inside the image")

    set_image, unplaced = sets_images(sets, images)
    per_image: dict[int, list[dict]] = {}
    names: dict[int, str] = {}
    for s in np.flatnonzero(set_image >= 0).tolist():
        image_id = int(set_image[s])
        ref = sets.images[sets.set_image[s]]
        per_image.setdefault(image_id, [])
        names.setdefault(image_id, ref.name or f"id {ref.concord_id}")

    box_image = set_image[sets.box_set] if sets.box_count else np.zeros(0, np.int64)
    box_class = class_ids[sets.box_label] if sets.box_count else np.zeros(0, np.int64)
    live = box_image >= 0
    ignored.add("", int((live & (box_class < 0)).sum()))
    live &= box_class >= 0
    owner, classes = box_image[live], box_class[live]
    size = np.array([images.size[i] for i in owner.tolist()], dtype=np.float64).reshape(-1, 2)
    x1, y1, w, h, inside = boxes_in_pixels(sets.xywh[live], size, sets.fractions)
    for k in range(len(owner)):
        image_id = int(owner[k])
        if not inside[k]:
            outside.add(names[image_id])
            continue
        per_image[image_id].append(
            {"x": float(x1[k]), "y": float(y1[k]), "width": float(w[k]),
             "height": float(h[k]), "label_class": int(classes[k])}
        )  # fmt: skip

    rows = Image.objects.in_bulk(list(per_image))
    for image_id in per_image:
        boxes = per_image[image_id]
        before = (
            GoldImage.objects.filter(image_id=image_id).values_list("version", flat=True).first()
        )
        try:
            gold = gold_image_save(
                project=project,
                image=rows[image_id],
                user=user,
                source=GoldImage.Source.IMPORT,
                boxes=boxes,
            )
        except GoldInvalid as exc:
            raise GoldRefused(f"{names[image_id]}: {exc.message}") from None
        except BoxesInvalid as exc:  # too many boxes
            raise GoldRefused(f"{names[image_id]}: {exc}") from None
        if before is None:
            out.created += 1
        elif gold.version != before:
            out.changed += 1
        else:
            out.unchanged += 1
        out.boxes += len(boxes)
    out.image_ids = sorted(per_image)
    out.skipped = [s for s in (*unplaced, ignored, outside) if s.count]
    return out
