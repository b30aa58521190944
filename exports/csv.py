"""CSV: one row per box, and one row with empty label fields per image labeled as having no objects.

Columns: image_id, file_name, width, height, label, class_id, x, y, w, h (pixels, top-left
origin), source (consensus, adjudicated or raw), labeler (raw and adjudicated rows), support
(share of labelers who boxed a consensus object), image_agreement. A row whose label is empty
means "this image (or, in raw exports, this labeler's label set) holds no objects"; images that
are not labeled have no row at all.

Text a person chose (class names, labelers' usernames) that starts with = + - @, a tab or a carriage
return is written with a leading apostrophe, so a spreadsheet shows it as text instead of running
it as a formula (CSV injection). Numbers are written by this module and never start with one.
CSV is always written here in Python: exports/sql_text.py writes COCO and YOLO only.
"""

import csv
import functools
import io
from collections.abc import Callable, Iterator

from exports.selectors import ExportQuery

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

HEADER = [
    "image_id", "file_name", "width", "height", "label", "class_id",
    "x", "y", "w", "h", "source", "labeler", "support", "image_agreement",
]  # fmt: skip


def spreadsheet_safe(text: str) -> str:
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def csv_pieces(query: ExportQuery, *, progress: Callable | None = None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(HEADER)
    yield buffer.getvalue()
    name_of = {c.id: spreadsheet_safe(c.name) for c in query.classes}
    raw = query.spec.source == "raw"
    safe = functools.cache(spreadsheet_safe)  # a few labelers, a million rows
    for image, boxes in query.groups(progress):
        buffer.seek(0)
        buffer.truncate()
        agreement = "" if image.agreement is None else f"{image.agreement:.4f}"
        head = [image.id, image.file_name, image.width, image.height]
        for _image_id, class_id, x, y, w, h, labeler, support, origin in boxes:
            writer.writerow(
                head + [name_of[class_id], class_id, f"{x:.2f}", f"{y:.2f}", f"{w:.2f}",
                        f"{h:.2f}", origin, safe(labeler), "" if support is None else f"{support:.4f}",
                        agreement]
            )  # fmt: skip
        empty_sets = (
            [labeler for labeler in image.labelers if not any(b[6] == labeler for b in boxes)]
            if raw
            else ([] if boxes else [""])
        )
        source = query.spec.source if not image.adjudicated or raw else "adjudicated"
        for labeler in empty_sets:
            writer.writerow(head + ["", "", "", "", "", "", source, safe(labeler), "", agreement])
        yield buffer.getvalue()
