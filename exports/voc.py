"""Pascal VOC: a zip in the devkit's layout, which datumaro and the VOC tools import unchanged.

    labelmap.txt                 the project's classes (datumaro reads them from here, instead of
                                 the 20 VOC classes)
    Annotations/<stem>.xml       one per exported image
    ImageSets/Main/<subset>.txt  the images of each subset, one stem a line: train/val/test with
                                 a split, else default.txt
    JPEGImages/<file name>       on request (the folder is named so whatever the image format)

Coordinates follow the VOC devkit: integer pixel indices, 1-based and inclusive, so a box from
x to x + width (Concord's continuous 0-based pixels) is written xmin = round(x) + 1,
xmax = round(x + width), clipped to 1..image width (the same for y). Readers: supervision and
Detectron2 subtract 1 from xmin/ymin (back to 0-based continuous pixels); datumaro does when
imported with coordinate_mode="voc-one-based" (its default, "dm-zero-based", keeps the numbers);
globox and torchvision keep the numbers as written, so to them the box starts one pixel right of
and below Concord's (subtract 1 from xmin/ymin after loading). An image labeled as having no objects
gets an XML with no <object>; an image not labeled gets no XML. Raw exports are one such dataset
per labeler under <labeler>/, holding the images that labeler labeled.
"""

from collections import defaultdict
from collections.abc import Callable, Iterator
from xml.sax.saxutils import escape

from exports.selectors import ExportQuery
from exports.streaming import image_bytes
from exports.zipstream import ZipStream


def voc_xml(image, boxes, name_of: dict[int, str]) -> str:
    width, height = image.width, image.height
    objects = []
    for _image_id, class_id, x, y, w, h, *_ in boxes:
        xmin = min(max(round(x) + 1, 1), width)
        ymin = min(max(round(y) + 1, 1), height)
        xmax = min(max(round(x + w), xmin), width)
        ymax = min(max(round(y + h), ymin), height)
        objects.append(
            f"  <object>\n    <name>{name_of[class_id]}</name>\n    <pose>Unspecified</pose>\n"
            "    <truncated>0</truncated>\n    <difficult>0</difficult>\n    <occluded>0</occluded>\n"
            f"    <bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox>\n  </object>\n"
        )
    return (
        f"<annotation>\n  <folder>JPEGImages</folder>\n  <filename>{escape(image.file_name)}</filename>\n"
        f"  <source><database>Concord</database><image_id>{image.id}</image_id></source>\n"
        f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>\n"
        f"  <segmented>0</segmented>\n{''.join(objects)}</annotation>\n"
    )


def label_map(query: ExportQuery) -> str:
    """datumaro's labelmap.txt: `name:color:parts:actions`, background first as in VOC."""
    lines = ["# label:color_rgb:parts:actions", "background:0,0,0::"]
    for c in query.classes:
        color = _color(c.index + 1)
        lines.append(f"{c.name}:{color[0]},{color[1]},{color[2]}::")
    return "\n".join(lines) + "\n"


def _color(n: int) -> tuple[int, int, int]:
    """The VOC palette's colour for class n (bits of n spread over r, g, b)."""
    r = g = b = 0
    for shift in range(7, -1, -1):
        r |= ((n >> 0) & 1) << shift
        g |= ((n >> 1) & 1) << shift
        b |= ((n >> 2) & 1) << shift
        n >>= 3
    return r, g, b


def voc_chunks(
    query: ExportQuery, *, readme: str, progress: Callable | None = None
) -> Iterator[bytes]:
    archive = ZipStream()
    name_of = {c.id: escape(c.name) for c in query.classes}
    raw = query.spec.source == "raw"
    labelmap = label_map(query).encode()
    yield archive.entry("README.txt", readme.encode())
    members: dict[tuple[str, str], list[str]] = defaultdict(list)  # (root, subset) -> stems
    for image, boxes in query.groups(progress):
        name = image.label_stem + ".xml"
        picture = b""
        owners = image.labelers if raw else ("",)
        for labeler in owners:
            root = f"{labeler}/" if raw else ""
            if raw and not any(r == root for r, _ in members):
                yield archive.entry(f"{root}labelmap.txt", labelmap)
            mine = [b for b in boxes if b[6] == labeler] if raw else boxes
            yield archive.entry(f"{root}Annotations/{name}", voc_xml(image, mine, name_of).encode())
            members[root, image.subset].append(image.label_stem)
            if query.spec.include_images:
                picture = picture or image_bytes(image.storage_name)
                yield archive.entry(f"{root}JPEGImages/{image.file_name}", picture, compress=False)
    if not raw:
        yield archive.entry("labelmap.txt", labelmap)
        members.setdefault(("", query.subsets[0]), [])
    for (root, subset), stems in sorted(members.items()):
        text = "".join(f"{stem}\n" for stem in stems)
        yield archive.entry(f"{root}ImageSets/Main/{subset}.txt", text.encode())
    yield from archive.finish()
