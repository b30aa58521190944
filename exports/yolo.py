"""YOLO (Ultralytics/Darknet txt): a zip with data.yaml, labels/ and, on request, images/.

Class numbers are the positions of the exported classes in the project's class order (then id),
listed in data.yaml `names`. Each line is `class cx cy w h`, normalised by the image size and
clipped to [0, 1] (six decimals): a box that reaches past the image edge is cut at the edge, and
a box with nothing left inside the image is dropped. An image labeled as having no objects gets
an empty .txt; an image that is not labeled gets no file at all.

Layout: `labels/<stem>.txt` beside `images/<file name>` (Ultralytics finds a label by swapping
images/ for labels/), or with a split `labels/<subset>/` and `images/<subset>/`, which data.yaml
names as train/val/test. Raw exports are one such dataset per labeler, `<labeler>/data.yaml`,
`<labeler>/labels/`, `<labeler>/images/`, holding the images that labeler labeled, so each
folder loads on its own as a dataset.

Label files are stored, not deflated: they are a few hundred bytes each, and setting up a
deflate stream per file cost more than all the rest of the export (the archive is ~1.5x larger).
On PostgreSQL the label files are written by the database (exports/sql_text.py), byte for byte
as `yolo_lines` writes them elsewhere.
"""

import json
from collections.abc import Callable, Iterator

from exports import sql_text
from exports.selectors import ExportQuery
from exports.streaming import image_bytes
from exports.zipstream import ZipStream


def data_yaml(query: ExportQuery) -> str:
    if query.spec.split is None:
        lines = [
            "# Concord YOLO export. Train and val both point at all the exported images (no split).",
            "path: .",
            "train: images",
            "val: images",
        ]
    else:
        lines = [
            "# Concord YOLO export, split without separating near-duplicate images.",
            "path: .",
        ]
        lines += [f"{subset}: images/{subset}" for subset in query.subsets]
    lines += [f"nc: {len(query.classes)}", "names:"]
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
    yield archive.entry("README.txt", readme.encode())
    raw = query.spec.source == "raw"
    yaml = data_yaml(query).encode()
    if not raw:
        yield archive.entry("data.yaml", yaml)
    files = sql_text.yolo_label_files(query) if query.text_in_database else _python_files(query)
    with_images = query.spec.include_images
    split = query.spec.split is not None
    folders: set[str] = set()  # labelers whose dataset folder has its data.yaml
    current, picture = None, b""  # the image being written and its bytes
    for image_id, labeler, label_stem, text, file_name, stored in files:
        if image_id != current:
            if current is not None and progress is not None:
                progress(1)
            current, picture = image_id, b""
        root = ""
        if labeler is not None:
            root = f"{labeler}/"
            if labeler not in folders:
                folders.add(labeler)
                yield archive.entry(f"{root}data.yaml", yaml)
        subset = f"{query.subset_of(image_id)}/" if split else ""
        yield archive.entry(f"{root}labels/{subset}{label_stem}.txt", text, compress=False)
        if with_images:
            picture = picture or image_bytes(stored)
            yield archive.entry(f"{root}images/{subset}{file_name}", picture, compress=False)
    if current is not None and progress is not None:
        progress(1)
    yield from archive.finish()


def _python_files(query: ExportQuery) -> Iterator[tuple[int, str | None, str, bytes, str, str]]:
    """What sql_text.yolo_label_files yields, from Python: (image id, labeler, stem, text, names)."""
    index_of = {c.id: c.index for c in query.classes}
    raw = query.spec.source == "raw"
    for image, boxes in query.groups():
        row = (image.file_name, image.storage_name)
        if raw:
            for labeler in image.labelers:
                mine = [b for b in boxes if b[6] == labeler]
                text = yolo_lines(mine, image.width, image.height, index_of)
                yield (image.id, labeler, image.label_stem, text.encode(), *row)
        else:
            text = yolo_lines(boxes, image.width, image.height, index_of)
            yield (image.id, None, image.label_stem, text.encode(), *row)
