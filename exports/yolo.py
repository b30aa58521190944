"""YOLO (Ultralytics/Darknet txt): a zip with data.yaml, labels/<stem>.txt and, on request, images/.

Class numbers are the positions of the exported classes in the project's class order (then id),
listed in data.yaml `names`. Each line is `class cx cy w h`, normalised by the image size and
clipped to [0, 1]: a box that reaches past the image edge is cut at the edge, and a box with
nothing left inside the image is dropped. An image labeled as having no objects gets an empty
.txt; an image that is not labeled gets no file at all. Raw exports put each labeler's files
under <labeler>/labels/.

Label files are stored, not deflated: they are a few hundred bytes each, and setting up a
deflate stream per file cost more than all the rest of the export (the archive is ~1.5x larger).
On PostgreSQL the label files are written by the database (exports/sql_text.py), byte for byte
as `yolo_lines` writes them elsewhere.
"""

import json
from collections.abc import Callable, Iterator

from exports import sql_text
from exports.selectors import ExportQuery
from exports.streaming import image_bytes, stem
from exports.zipstream import ZipStream


def data_yaml(query: ExportQuery) -> str:
    lines = [
        "# Concord YOLO export. Train and val both point at the exported images; split as you need.",
        "path: .",
        "train: images",
        "val: images",
        f"nc: {len(query.classes)}",
        "names:",
    ]
    lines += [f"  {c.index}: {json.dumps(c.name)}" for c in query.classes]
    return "\n".join(lines) + "\n"


def yolo_lines(boxes, width: int, height: int, index_of: dict[int, int]) -> str:
    out = []
    for _image_id, class_id, x, y, w, h, *_ in boxes:
        x1 = x if x > 0.0 else 0.0
        y1 = y if y > 0.0 else 0.0
        x2 = x + w if x + w < width else float(width)
        y2 = y + h if y + h < height else float(height)
        if x2 <= x1 or y2 <= y1:
            continue
        out.append(
            f"{index_of[class_id]} {(x1 + x2) / 2 / width:.6f} {(y1 + y2) / 2 / height:.6f} "
            f"{(x2 - x1) / width:.6f} {(y2 - y1) / height:.6f}\n"
        )
    return "".join(out)


def yolo_chunks(
    query: ExportQuery, *, readme: str, progress: Callable | None = None
) -> Iterator[bytes]:
    archive = ZipStream()
    yield archive.entry("data.yaml", data_yaml(query).encode())
    yield archive.entry("README.txt", readme.encode())
    files = sql_text.yolo_label_files(query) if query.text_in_database else _python_files(query)
    with_images = query.spec.include_images
    previous = None  # (image id, file name, stored name) of the files just written
    for image_id, path, text, file_name, stored in files:
        if previous is not None and previous[0] != image_id:
            yield from _image_done(archive, previous, with_images, progress)
        yield archive.entry(path, text, compress=False)
        previous = (image_id, file_name, stored)
    if previous is not None:
        yield from _image_done(archive, previous, with_images, progress)
    yield from archive.finish()


def _image_done(archive, image, with_images: bool, progress) -> Iterator[bytes]:
    """After an image's label files: the image itself on request, and a step of progress."""
    _id, file_name, stored = image
    if with_images:
        yield archive.entry(f"images/{file_name}", image_bytes(stored), compress=False)
    if progress is not None:
        progress(1)


def _python_files(query: ExportQuery) -> Iterator[tuple[int, str, bytes, str, str]]:
    """What sql_text.yolo_label_files yields, from Python: (image id, path, text, names)."""
    index_of = {c.id: c.index for c in query.classes}
    raw = query.spec.source == "raw"
    for image, boxes in query.groups():
        name = stem(image.file_name) + ".txt"
        row = (image.file_name, image.storage_name)
        if raw:
            for labeler in image.labelers:
                mine = [b for b in boxes if b[6] == labeler]
                text = yolo_lines(mine, image.width, image.height, index_of)
                yield (image.id, f"{labeler}/labels/{name}", text.encode(), *row)
        else:
            text = yolo_lines(boxes, image.width, image.height, index_of)
            yield (image.id, f"labels/{name}", text.encode(), *row)
