"""Pascal VOC: a zip of Annotations/<stem>.xml (and images/ on request).

Coordinates follow the VOC devkit: integer pixel indices, 1-based and inclusive, so a box from
x to x + width (Concord's continuous pixels) is written xmin = round(x) + 1, xmax = round(x + width),
clipped to 1..image width (the same for y). Readers that follow the convention (Detectron2,
torchvision's VOC tooling) subtract 1 from xmin/ymin to get back to 0-based continuous
coordinates; readers that take the numbers as they are (globox) see the box one pixel to the
right and down. An image labeled as having no objects gets an XML with no <object>; an image
not labeled gets no XML. Raw exports put each labeler's files under <labeler>/Annotations/.
"""

from collections.abc import Callable, Iterator
from xml.sax.saxutils import escape

from exports.selectors import ExportQuery
from exports.streaming import image_bytes, stem
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
            "    <truncated>0</truncated>\n    <difficult>0</difficult>\n"
            f"    <bndbox><xmin>{xmin}</xmin><ymin>{ymin}</ymin>"
            f"<xmax>{xmax}</xmax><ymax>{ymax}</ymax></bndbox>\n  </object>\n"
        )
    return (
        f"<annotation>\n  <folder>images</folder>\n  <filename>{escape(image.file_name)}</filename>\n"
        f"  <source><database>Concord</database><image_id>{image.id}</image_id></source>\n"
        f"  <size><width>{width}</width><height>{height}</height><depth>3</depth></size>\n"
        f"  <segmented>0</segmented>\n{''.join(objects)}</annotation>\n"
    )


def voc_chunks(
    query: ExportQuery, *, readme: str, progress: Callable | None = None
) -> Iterator[bytes]:
    archive = ZipStream()
    name_of = {c.id: escape(c.name) for c in query.classes}
    raw = query.spec.source == "raw"
    yield archive.entry("README.txt", readme.encode())
    for image, boxes in query.groups(progress):
        name = stem(image.file_name) + ".xml"
        if raw:
            for labeler in image.labelers:
                mine = [b for b in boxes if b[6] == labeler]
                yield archive.entry(
                    f"{labeler}/Annotations/{name}", voc_xml(image, mine, name_of).encode()
                )
        else:
            yield archive.entry(f"Annotations/{name}", voc_xml(image, boxes, name_of).encode())
        if query.spec.include_images:
            yield archive.entry(
                f"images/{image.file_name}", image_bytes(image.storage_name), compress=False
            )
    yield from archive.finish()
