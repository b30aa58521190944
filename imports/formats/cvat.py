"""CVAT for images 1.1 (XML): one labeler's boxes, in pixels.

    <annotations><version>1.1</version><meta>...</meta>
      <image id="0" name="street/a.jpg" width="640" height="480">
        <box label="car" occluded="0" source="manual" xtl="10.5" ytl="20" xbr="110.5" ybr="70"
             z_order="0" rotation="0"></box>
      </image>
    </annotations>

xtl/ytl/xbr/ybr are 0-based continuous pixels (CVAT's own). Every <image> of the file is a
label set: an image without a box is labeled as holding no object (CVAT writes every image of
the task; export only finished jobs). Shapes other than boxes (polygons, points, tags) and
rotated boxes are left out, with a note; CVAT-for-video tracks are refused.
"""

from __future__ import annotations

from collections import Counter

from imports.formats.types import ImageRef, LabelFileError, LabelSets, LabelSetsBuilder, plural
from imports.formats.voc import xml_root

OTHER_SHAPES = ("polygon", "polyline", "points", "ellipse", "cuboid", "mask", "skeleton", "tag")


def parse_cvat(data: bytes, *, path: str = "annotations.xml") -> LabelSets:
    root = xml_root(data, path)
    if root.tag != "annotations":
        raise LabelFileError(f"{path} is not CVAT XML (its root is <{root.tag}>).")
    if root.find("track") is not None:
        raise LabelFileError(
            f"{path} is CVAT for video (it has <track>s); export the task as CVAT for images 1.1."
        )
    builder = LabelSetsBuilder()
    skipped: Counter = Counter()
    rotated = boxes = 0
    for k, image in enumerate(root.findall("image"), start=1):
        name = image.get("name")
        if not name:
            raise LabelFileError(f"<image> {k} of {path} has no name.")
        ref = ImageRef(name, _size(image.get("width")), _size(image.get("height")))
        label_set = builder.label_set(builder.image(ref))
        for child in image:
            if child.tag in OTHER_SHAPES:
                skipped[child.tag] += 1
                continue
            if child.tag != "box":
                continue
            boxes += 1
            where = f"box {boxes} (on {name})"
            label = child.get("label")
            if not label:
                raise LabelFileError(f"{where} has no label.")
            try:
                rotation = float(child.get("rotation") or 0)
                xtl, ytl, xbr, ybr = (float(child.get(a)) for a in ("xtl", "ytl", "xbr", "ybr"))
            except (TypeError, ValueError):
                raise LabelFileError(
                    f"{where}: xtl, ytl, xbr, ybr and rotation must be numbers."
                ) from None
            if rotation % 360:
                rotated += 1
                continue
            builder.box(label_set, label, xtl, ytl, xbr - xtl, ybr - ytl, where=where)
    for tag, n in sorted(skipped.items()):
        builder.note(f"{plural(n, tag)} left out: only boxes are imported")
    if rotated:
        builder.note(f"{plural(rotated, 'rotated box', 'rotated boxes')} left out")
    return builder.build()


def _size(text: str | None) -> int | None:
    try:
        value = int(float(text))
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None
