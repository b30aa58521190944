"""YOLO (Ultralytics / Darknet txt): class names from data.yaml (or obj.names, classes.txt) and
one label file per image, named after the image's stem.

Each line is ``class cx cy w h``: the class's position in the names, the box's centre and size
divided by the image's width and height. A model's predictions add its confidence last
(``class cx cy w h conf``, Ultralytics' ``save_conf``). An empty label file means the image holds
no object; an image without a label file is not labeled. Each label file is read on its own:
a bad line refuses that file only.
"""

from __future__ import annotations

import posixpath

import yaml

from imports.formats.types import ImageRef, LabelFileError, LabelSets, LabelSetsBuilder

NAME_FILES = ("data.yaml", "data.yml", "obj.names", "classes.txt")
# Text files of a YOLO dataset that are not label files.
META_FILES = {"classes.txt", "obj.names", "train.txt", "val.txt", "valid.txt", "test.txt",
              "readme.txt", "labelmap.txt", "obj.data"}  # fmt: skip


def is_names_file(path: str) -> bool:
    base = posixpath.basename(path).lower()
    return base in NAME_FILES or base.endswith(".names")


def is_label_file(path: str) -> bool:
    base = posixpath.basename(path).lower()
    return (
        base.endswith(".txt") and base not in META_FILES and "/imagesets/" not in f"/{path.lower()}"
    )


def yolo_names(data: bytes, path: str) -> list[str]:
    """The class names, in class-number order, from data.yaml or a names file (one a line)."""
    if not path.lower().endswith((".yaml", ".yml")):
        text = _text(data, path)
        return [line.strip() for line in text.splitlines() if line.strip()]
    try:
        document = yaml.safe_load(_text(data, path))
    except yaml.YAMLError as exc:
        raise LabelFileError(f"{path} is not valid YAML ({exc}).") from None
    names = document.get("names") if isinstance(document, dict) else None
    if isinstance(names, dict):
        try:
            order = sorted(names, key=int)
        except (TypeError, ValueError):
            raise LabelFileError(f"{path}: the keys of names must be class numbers.") from None
        if [int(k) for k in order] != list(range(len(order))):
            raise LabelFileError(f"{path}: names must number the classes 0, 1, 2, ...")
        names = [names[k] for k in order]
    if not isinstance(names, list) or not names:
        raise LabelFileError(f"{path} has no list of class names (names:).")
    if not all(isinstance(name, str | int | float) for name in names):
        raise LabelFileError(f"{path}: each class name must be a plain word or number.")
    return [str(name)[:100] for name in names]


def _text(data: bytes, path: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise LabelFileError(f"{path} is not UTF-8 text.") from None


def yolo_lines(data: bytes, *, path: str, classes: int, with_score: bool) -> list[tuple]:
    """(class, x, y, w, h, score) per line, top-left x/y and size as fractions of the image."""
    width = 6 if with_score else 5
    out = []
    for number, line in enumerate(_text(data, path).splitlines(), start=1):
        fields = line.split()
        if not fields:
            continue
        where = f"line {number} of {path}"
        if len(fields) != width:
            hint = (
                " (with a sixth number, a confidence, it is a model's output: import it as "
                "predictions)"
                if len(fields) == 6 and not with_score
                else ""
            )
            if len(fields) > 6:
                hint = " (a polygon: only boxes can be imported)"
            raise LabelFileError(f"{where} has {len(fields)} numbers, not {width}{hint}.")
        try:
            label = int(fields[0])
            cx, cy, w, h = (float(v) for v in fields[1:5])
            score = float(fields[5]) if with_score else float("nan")
        except ValueError:
            raise LabelFileError(
                f"{where} is not `class cx cy w h`: {line.strip()[:80]!r}."
            ) from None
        if not 0 <= label < classes:
            raise LabelFileError(
                f"{where}: class {label} is not in the names (0 to {classes - 1})."
            )
        out.append((label, cx - w / 2, cy - h / 2, w, h, score))
    return out


def parse_yolo_dataset(
    names: list[str], label_files: list[tuple[str, bytes]], *, with_score: bool = False
) -> tuple[LabelSets, list[tuple[str, str]]]:
    """The label sets of a dataset's label files [(path, bytes)], and the files refused with
    why [(path, reason)]: each file is all or nothing."""
    builder = LabelSetsBuilder(fractions=True)
    refused = []
    for path, data in label_files:
        try:
            rows = yolo_lines(data, path=path, classes=len(names), with_score=with_score)
        except LabelFileError as exc:
            refused.append((path, str(exc)))
            continue
        stem = posixpath.splitext(posixpath.basename(path))[0]
        label_set = builder.label_set(builder.image(ImageRef(stem, stem_only=True)))
        for k, (label, x, y, w, h, score) in enumerate(rows, start=1):
            builder.box(label_set, names[label], x, y, w, h, score, where=f"box {k} of {path}")
    return builder.build(), refused
