"""COCO detection JSON, written piece by piece.

`images` carry Concord's image id (stable across exports), `file_name` (the uploaded name, made
unique in the project as exports/names.py says: the name under images/ when images are
included), `width`, `height`, and Concord extras: `original_name`, `agreement` (the image's
agreement score, null before assessment). Category ids are 1..N in the project's class order
(the YOLO index + 1). Annotation ids count from 1 in export order. `bbox` is [x, y, width,
height] in pixels from the image's top-left corner (0-based, continuous: a box over the first
pixel column is x=0, width=1), rounded to 1/100 pixel; `area` = width * height of the rounded
box, rounded the same way; `segmentation` is [] (boxes only: pycocotools and datumaro then
read the box alone, with no polygon and no warning); `iscrowd` 0. Numbers are written with the
fewest digits that read back to the same value ("400" for 400.0, as PostgreSQL prints them).

Raw exports carry the labeler the way the K-alpha reference tool `kalphacv` reads it: each image
lists the labelers who submitted a label set in `rater_list` (a labeler who drew nothing is
listed, with no annotations), each annotation names its labeler in `rater`. Compute K-alpha with
`calculate_iaa_from_annotations(..., images_rater_key="rater_list", annotations_rater_key="rater")`.

On PostgreSQL the image and annotation objects are written by the database (exports/sql_text.py),
byte for byte as `_python_images` and `_python_annotations` write them elsewhere.
"""

import json
from collections.abc import Callable, Iterator

from exports import sql_text
from exports.selectors import ExportQuery


def json_number(value: float) -> str:
    """A float as PostgreSQL's float8 output prints it: shortest round-trip digits, no ".0"."""
    text = repr(value)
    return text[:-2] if text.endswith(".0") else text


def coord(value: float) -> float:
    """A coordinate rounded to 1/100 pixel (ties to even; the database rounds alike)."""
    return round(value * 100) / 100


def coco_categories(query: ExportQuery) -> list[dict]:
    return [{"id": c.index + 1, "name": c.name, "supercategory": ""} for c in query.classes]


def coco_pieces(
    query: ExportQuery, *, info: dict, progress: Callable | None = None
) -> Iterator[str | bytes]:
    yield '{"info": ' + json.dumps(info) + ', "licenses": [], "categories": '
    yield json.dumps(coco_categories(query)) + ', "images": ['
    if query.text_in_database:
        images = sql_text.coco_image_objects(query)
        groups = sql_text.coco_annotation_groups(query)
    else:
        images = _python_images(query)
        groups = _python_annotations(query)
    separator = b"\n"
    for image in images:
        yield separator
        yield image
        separator = b",\n"
    yield '\n], "annotations": ['
    separator = b"\n"
    for group in groups:
        if group is not None:  # None: an image labeled as holding no objects
            yield separator
            yield group
            separator = b",\n"
        if progress is not None:
            progress(1)
    yield "\n]}\n"


def _python_images(query: ExportQuery) -> Iterator[str]:
    raw = query.spec.source == "raw"
    dumps = json.dumps
    for image in query.images():
        extra = f', "rater_list": {dumps(list(image.labelers))}' if raw else ""
        agreement = "null" if image.agreement is None else json_number(image.agreement)
        yield (
            f'{{"id": {image.id}, "file_name": {dumps(image.file_name)}, '
            f'"width": {image.width}, "height": {image.height}, '
            f'"original_name": {dumps(image.original_name)}, "agreement": {agreement}{extra}}}'
        )


def _python_annotations(query: ExportQuery) -> Iterator[str | None]:
    """Per exported image, its annotation objects joined by ",\\n" (None for an empty image)."""
    dumps, number = json.dumps, json_number
    category_of = {c.id: c.index + 1 for c in query.classes}
    next_id = 1
    for _image, boxes in query.groups():
        if not boxes:
            yield None
            continue
        parts = []
        for image_id, class_id, x, y, w, h, labeler, _support, origin in boxes:
            who = f', "rater": {dumps(labeler)}' if labeler else ""
            w, h = coord(w), coord(h)
            parts.append(
                f'{{"id": {next_id}, "image_id": {image_id}, "category_id": {category_of[class_id]}, '
                f'"bbox": [{number(coord(x))}, {number(coord(y))}, {number(w)}, {number(h)}], '
                f'"area": {number(coord(w * h))}, "segmentation": [], "iscrowd": 0, '
                f'"source": "{origin}"{who}}}'
            )
            next_id += 1
        yield ",\n".join(parts)
