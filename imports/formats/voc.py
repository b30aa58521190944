"""Pascal VOC: one XML per image (Annotations/<stem>.xml), boxes as pixel indices.

VOC's devkit numbers pixels from 1 and includes both ends: a box from xmin to xmax covers
pixels xmin..xmax, so in Concord's continuous 0-based pixels it is x = xmin - 1,
width = xmax - xmin + 1 (the inverse of what Concord's VOC export writes). Writers that put
0-based continuous coordinates in the XML instead (globox, datumaro's default) are read with
``one_based=False``: x = xmin, width = xmax - xmin. An XML without <object> means the image
holds no object; an image without an XML is not labeled.
"""

from __future__ import annotations

import posixpath

from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException

from imports.formats.types import ImageRef, LabelFileError, LabelSets, LabelSetsBuilder


def xml_root(data: bytes, path: str):
    """The parsed document's root; entities and DTDs are refused (defusedxml)."""
    try:
        return ElementTree.fromstring(data)
    except DefusedXmlException:
        raise LabelFileError(f"{path} declares entities or a DTD, which are refused.") from None
    except ElementTree.ParseError as exc:
        raise LabelFileError(f"{path} is not valid XML ({exc}).") from None


def voc_objects(data: bytes, *, path: str, one_based: bool = True):
    """(ImageRef, [(class name, x, y, w, h)]) of one VOC XML."""
    root = xml_root(data, path)
    if root.tag != "annotation":
        raise LabelFileError(f"{path} is not a VOC annotation (its root is <{root.tag}>).")
    name = (root.findtext("filename") or "").strip()
    stem_only = not name
    if not name:
        name = posixpath.splitext(posixpath.basename(path))[0]
    width = _int(root.findtext("size/width"))
    height = _int(root.findtext("size/height"))
    offset = 1.0 if one_based else 0.0
    boxes = []
    for k, obj in enumerate(root.findall("object"), start=1):
        label = (obj.findtext("name") or "").strip()
        box = obj.find("bndbox")
        if not label or box is None:
            raise LabelFileError(f"object {k} of {path} needs a <name> and a <bndbox>.")
        try:
            xmin, ymin, xmax, ymax = (
                float(box.findtext(t)) for t in ("xmin", "ymin", "xmax", "ymax")
            )
        except (TypeError, ValueError):
            raise LabelFileError(f"object {k} of {path}: bndbox needs four numbers.") from None
        x, y = xmin - offset, ymin - offset
        boxes.append((label, x, y, xmax - x, ymax - y))
    return ImageRef(name, width, height, stem_only=stem_only), boxes


def _int(text: str | None) -> int | None:
    try:
        value = int(float(text))
    except (TypeError, ValueError):
        return None
    return value if value > 0 else None


def image_set_stems(data: bytes) -> list[str]:
    """The image stems an ImageSets/Main list names (one a line); [] for a per-class list
    (``<stem> 1|-1|0`` lines), which says nothing about whether an image was labeled."""
    lines = [line.split() for line in data.decode("utf-8", "replace").splitlines() if line.strip()]
    if any(len(parts) != 1 for parts in lines):
        return []
    return [parts[0] for parts in lines]


def parse_voc_dataset(
    xml_files: list[tuple[str, bytes]], *, one_based: bool = True, listed: list[str] = ()
) -> tuple[LabelSets, list[tuple[str, str]]]:
    """The label sets of a dataset's XML files, and the files refused with why.

    ``listed``: the stems the dataset's ImageSets/Main lists. A listed image without an XML is
    labeled as holding no object (datumaro writes no XML for an image without objects).
    """
    builder = LabelSetsBuilder()
    refused = []
    with_xml = {posixpath.splitext(posixpath.basename(path))[0] for path, _ in xml_files}
    bare = sorted(set(listed) - with_xml)
    for stem in bare:
        builder.label_set(builder.image(ImageRef(stem, stem_only=True)))
    if bare:
        builder.note(
            f"{len(bare)} image{'s' if len(bare) != 1 else ''} listed in ImageSets without an "
            "XML: labeled as holding no object"
        )
    for path, data in xml_files:
        try:
            ref, boxes = voc_objects(data, path=path, one_based=one_based)
        except LabelFileError as exc:
            refused.append((path, str(exc)))
            continue
        label_set = builder.label_set(builder.image(ref))
        for k, (label, x, y, w, h) in enumerate(boxes, start=1):
            builder.box(label_set, label, x, y, w, h, where=f"object {k} of {path}")
    return builder.build(), refused
