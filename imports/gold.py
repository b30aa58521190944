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

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np

from annotations.boxes import BoxesInvalid
from gold.models import GoldImage
from gold.services import GoldInvalid, gold_image_save
from imports.formats.types import LabelSets
from imports.matching import AMBIGUOUS, ProjectImages
from imports.writer import DECIMALS, Skipped
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
    not_found = Skipped("no image of the project has this name (upload the image with the labels)")
    ambiguous = Skipped("several images of the project have this name")
    resized = Skipped("the file gives another size for the image than the stored one")
    ignored = Skipped("boxes of classes chosen to be ignored")
    outside = Skipped("boxes with nothing inside the image")

    per_image: dict[int, list[dict]] = {}
    names: dict[int, str] = {}
    set_target: list[int] = []
    for s in range(sets.set_count):
        ref = sets.images[sets.set_image[s]]
        name = ref.name or f"id {ref.concord_id}"
        image_id = images.find(ref)
        if image_id < 0:
            (ambiguous if image_id == AMBIGUOUS else not_found).add(name)
            set_target.append(-1)
            continue
        stored = images.size[image_id]
        if not sets.fractions and ref.width and ref.height and (ref.width, ref.height) != stored:
            resized.add(f"{name}: {ref.width}x{ref.height} in the file, "
                        f"{stored[0]}x{stored[1]} stored")  # fmt: skip
            set_target.append(-1)
            continue
        per_image.setdefault(image_id, [])
        names.setdefault(image_id, name)
        set_target.append(image_id)

    boxes_of: dict[int, list[dict]] = defaultdict(list)
    for b in range(sets.box_count):
        image_id = set_target[int(sets.box_set[b])]
        if image_id < 0:
            continue
        class_id = int(class_ids[sets.box_label[b]])
        if class_id < 0:
            ignored.add("")
            continue
        width, height = images.size[image_id]
        x, y, w, h = (float(v) for v in sets.xywh[b])
        if sets.fractions:
            x, y, w, h = x * width, y * height, w * width, h * height
        x1, y1 = min(max(x, 0.0), width), min(max(y, 0.0), height)
        x2, y2 = min(max(x + w, 0.0), width), min(max(y + h, 0.0), height)
        x1, y1 = round(x1, DECIMALS), round(y1, DECIMALS)
        w, h = round(x2 - x1, DECIMALS), round(y2 - y1, DECIMALS)
        if w <= 0 or h <= 0:
            outside.add(names[image_id])
            continue
        boxes_of[image_id].append(
            {"x": x1, "y": y1, "width": w, "height": h, "label_class": class_id}
        )

    rows = Image.objects.in_bulk(list(per_image))
    for image_id in per_image:
        boxes = boxes_of.get(image_id, [])
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
    out.skipped = [s for s in (not_found, ambiguous, resized, ignored, outside) if s.count]
    return out
