"""COCO detection JSON, written piece by piece.

`images` carry Concord's image id (stable across exports), `file_name` (unique: "<id>_<stem><ext>",
the name under images/ when include_images=1), `width`, `height`, and Concord extras:
`original_name`, `agreement` (the image's agreement score, null before assessment). Category
ids are Concord's class ids. Annotation ids count from 1 in export order. `bbox` is
[x, y, width, height] in pixels, `area` = width * height, `iscrowd` 0.

Raw exports carry the labeler the way the K-alpha reference tool `kalphacv` reads it: each image
lists the labelers who submitted a label set in `rater_list` (a labeler who drew nothing is
listed, with no annotations), each annotation names its labeler in `rater`. Compute K-alpha with
`calculate_iaa_from_annotations(..., images_rater_key="rater_list", annotations_rater_key="rater")`.
"""

import json
from collections.abc import Callable, Iterator

from exports.selectors import ExportQuery


def coco_pieces(
    query: ExportQuery, *, info: dict, progress: Callable | None = None
) -> Iterator[str]:
    raw = query.spec.source == "raw"
    categories = [{"id": c.id, "name": c.name, "supercategory": "object"} for c in query.classes]
    yield '{"info": ' + json.dumps(info) + ', "licenses": [], "categories": '
    yield json.dumps(categories) + ', "images": ['
    dumps = json.dumps
    first = True
    for image in query.images():
        extra = f', "rater_list": {dumps(list(image.labelers))}' if raw else ""
        yield (
            f'{"" if first else ","}\n{{"id": {image.id}, "file_name": {dumps(image.file_name)}, '
            f'"width": {image.width}, "height": {image.height}, '
            f'"original_name": {dumps(image.original_name)}, '
            f'"agreement": {"null" if image.agreement is None else repr(image.agreement)}{extra}}}'
        )
        first = False
    yield '\n], "annotations": ['
    next_id = 1
    separator = "\n"
    for _image, boxes in query.groups(progress):
        if not boxes:
            continue
        parts = []
        for image_id, class_id, x, y, w, h, labeler, _support, origin in boxes:
            who = f', "rater": {dumps(labeler)}' if labeler else ""
            parts.append(
                f'{separator}{{"id": {next_id}, "image_id": {image_id}, "category_id": {class_id}, '
                f'"bbox": [{x!r}, {y!r}, {w!r}, {h!r}], "area": {w * h!r}, "iscrowd": 0, '
                f'"source": "{origin}"{who}}}'
            )
            separator = ",\n"
            next_id += 1
        yield "".join(parts)
    yield "\n]}\n"
