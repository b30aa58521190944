"""Label Studio's JSON export: tasks with their annotations, rectangles in percent.

    [{"id": 1, "data": {"image": "/data/upload/3/8f3a2c1b-street.jpg"},
      "annotations": [{"completed_by": 2, "was_cancelled": false, "result": [
          {"type": "rectanglelabels", "original_width": 640, "original_height": 480,
           "value": {"x": 12.5, "y": 20, "width": 30, "height": 10, "rotation": 0,
                     "rectanglelabels": ["car"]}}]}]}, ...]

x, y, width and height are percentages of the image's width and height (top-left corner).
Each non-cancelled annotation is one label set: with no rectangle, the image holds no object;
a task without annotations is not labeled. Annotators are named by ``completed_by`` (an email,
or "labelstudio-<id>") unless the import names one labeler for the whole file. The image is
found by its file name: the last part of ``data.image`` (or of its ``?d=`` path for local
storage), without the 8-character prefix Label Studio puts on uploaded files. Other result
types, rotated rectangles, cancelled annotations and predictions are left out, with a note.
"""

from __future__ import annotations

import posixpath
import re
from collections import Counter
from urllib.parse import parse_qs, unquote, urlsplit

from imports.formats.jsonstream import json_text, json_walk
from imports.formats.types import ImageRef, LabelFileError, LabelSets, LabelSetsBuilder, plural

UPLOAD_PREFIX = re.compile(r"^[0-9a-f]{8}-(.+)$")


def image_name(url: str) -> str:
    """The file name Label Studio's task refers to."""
    parts = urlsplit(url)
    path = parts.path
    query = parse_qs(parts.query)
    if query.get("d"):
        path = query["d"][0]
    name = posixpath.basename(unquote(path))
    uploaded = UPLOAD_PREFIX.match(name)
    if uploaded and "/upload/" in parts.path:
        name = uploaded.group(1)
    return name


def _annotator(completed_by) -> str:
    if isinstance(completed_by, dict):
        if completed_by.get("email"):
            return str(completed_by["email"])
        completed_by = completed_by.get("id")
    return f"labelstudio-{completed_by}"


def parse_labelstudio(data: bytes, *, named_raters: bool) -> LabelSets:
    """``named_raters``: name each annotation's labeler by its annotator (else: the import's
    labeler, and a task with several annotations is refused: they would merge)."""
    tasks: list = []
    kind, _ = json_walk(json_text(data), {"": tasks.extend})
    if kind != "array":
        raise LabelFileError(
            "a Label Studio export is a list of tasks; export the project as JSON (not JSON-MIN, "
            "COCO or YOLO: import those with their own format)."
        )
    builder = LabelSetsBuilder(fractions=True)
    skipped: Counter = Counter()
    for t, task in enumerate(tasks, start=1):
        if not isinstance(task, dict) or not isinstance(task.get("data"), dict):
            raise LabelFileError(f"task {t} has no data: is this Label Studio's JSON export?")
        where = f"task {task.get('id', t)}"
        url = task["data"].get("image")
        if not isinstance(url, str):
            url = next((v for v in task["data"].values() if isinstance(v, str)), None)
        if not url:
            raise LabelFileError(f"{where} has no image in its data.")
        annotations = task.get("annotations")
        if annotations is None and "label" in task:
            raise LabelFileError("this is Label Studio's JSON-MIN export; export as JSON instead.")
        skipped["prediction"] += len(task.get("predictions") or [])
        done = [a for a in annotations or [] if isinstance(a, dict) and not a.get("was_cancelled")]
        skipped["cancelled annotation"] += len(annotations or []) - len(done)
        if len(done) > 1 and not named_raters:
            raise LabelFileError(
                f"{where} has {len(done)} annotations: leave the labeler empty to import each "
                "annotator as a labeler of their own."
            )
        if not done:
            continue
        image = builder.image(ImageRef(image_name(url)))
        for annotation in done:
            rater = _annotator(annotation.get("completed_by")) if named_raters else None
            label_set = builder.label_set(image, rater)
            results = annotation.get("result") or []
            if not isinstance(results, list):
                raise LabelFileError(f"{where}: an annotation's result is not a list.")
            for r, result in enumerate(results, start=1):
                kind = result.get("type") if isinstance(result, dict) else None
                if kind != "rectanglelabels":
                    skipped[f"{kind or 'unknown'} result"] += 1
                    continue
                value = result.get("value") or {}
                labels = value.get("rectanglelabels") or []
                if len(labels) != 1:
                    raise LabelFileError(f"{where}, result {r}: a rectangle needs one label.")
                try:
                    rotation = float(value.get("rotation") or 0)
                except (TypeError, ValueError):
                    raise LabelFileError(
                        f"{where}, result {r}: rotation is not a number."
                    ) from None
                if rotation % 360:
                    skipped["rotated rectangle"] += 1
                    continue
                x, y, w, h = (value.get(k) for k in ("x", "y", "width", "height"))
                if not all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in (x, y, w, h)
                ):
                    raise LabelFileError(
                        f"{where}, result {r}: x, y, width, height must be numbers."
                    )
                builder.box(label_set, labels[0], x / 100, y / 100, w / 100, h / 100,
                            where=f"{where}, result {r}")  # fmt: skip
    for what, n in sorted(skipped.items()):
        if n:
            builder.note(f"{plural(n, what)} left out")
    return builder.build()
