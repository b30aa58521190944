"""COCO detection JSON: one labeler's file, a raw file with raters, and model results.

- ``coco``: one labeler's file. Every image in ``images`` is a label set (an image without
  annotations: labeled as holding no object); images not listed are not labeled.
- ``coco_raw``: several labelers in one file, the layout kalphacv reads and Concord's raw export
  writes: each image lists its labelers in ``rater_list`` (a labeler with no annotation on it
  labeled it as empty), each annotation names its labeler in ``rater``.
- results: a model's detections, ``[{"image_id", "category_id", "bbox", "score"}, ...]``, or a
  COCO file whose annotations carry a ``score`` (as globox writes detections).

``bbox`` is [x, y, width, height] in pixels from the top-left corner. Crowd regions
(``iscrowd`` 1) are not objects and are left out, with a note.
"""

from __future__ import annotations

import numpy as np

from imports.formats.jsonstream import json_text, json_walk
from imports.formats.types import ImageRef, LabelFileError, LabelSets, plural


class _Columns:
    """Annotations as columns, collected a batch at a time from the stream.

    The common case (well-formed annotations) goes through list comprehensions and numpy;
    a batch that fails is walked again item by item to say which annotation is wrong and why.
    """

    def __init__(self, *, raw: bool):
        self.raw = raw
        self.image: list = []
        self.category: list = []
        self.boxes: list[np.ndarray] = []
        self.score: list = []
        self.rater: list[int] = []  # codes into rater_names (-1: none), not 2M strings
        self.rater_names: dict[str, int] = {}
        self.crowd = 0
        self.count = 0

    def add(self, batch: list) -> None:
        first = self.count
        self.count += len(batch)
        try:
            crowd = [a.get("iscrowd") in (1, True) for a in batch]
            if any(crowd):
                self.crowd += sum(crowd)
                batch = [a for a, c in zip(batch, crowd, strict=True) if not c]
            image = [a["image_id"] for a in batch]
            category = [a["category_id"] for a in batch]
            boxes = np.array([a["bbox"] for a in batch], dtype=np.float64).reshape(-1, 4)
            score = np.array([a.get("score", np.nan) for a in batch], dtype=np.float64)
            rater = [a.get("rater") for a in batch]
            if len(boxes) != len(batch) or not {type(v) for v in image + category} <= {int, str}:
                raise ValueError
            if self.raw and not {type(r) for r in rater} <= {int, str}:
                raise ValueError
        except (AttributeError, KeyError, TypeError, ValueError):
            for k, item in enumerate(batch, start=first + 1):
                _check(item, k, raw=self.raw)
            raise LabelFileError(f"annotations {first + 1} to {self.count}: unreadable.") from None
        self.image += image
        self.category += category
        self.boxes.append(boxes)
        self.score.append(score)
        if self.raw:
            names = self.rater_names
            self.rater += [names.setdefault(str(r), len(names)) for r in rater]


def _check(item, k: int, *, raw: bool) -> None:
    """Raise LabelFileError saying what is wrong with annotation k, if anything."""
    where = f"annotation {k}"
    if not isinstance(item, dict):
        raise LabelFileError(f"{where} is not an object.")
    if item.get("iscrowd") in (1, True):
        return
    for key in ("image_id", "category_id", "bbox"):
        if key not in item:
            raise LabelFileError(f"{where} has no {key}.")
    bbox = item["bbox"]
    if not isinstance(bbox, list) or len(bbox) != 4:
        raise LabelFileError(f"{where}: bbox must be [x, y, width, height].")
    if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in bbox):
        raise LabelFileError(f"{where}: bbox must hold four numbers.")
    score = item.get("score")
    if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
        raise LabelFileError(f"{where}: score must be a number.")
    if raw and not isinstance(item.get("rater"), str | int):
        raise LabelFileError(
            f"{where} has no rater: a raw COCO file names each annotation's labeler in "
            '"rater" (import it as coco, with a labeler, if it is one labeler\'s).'
        )
    for key in ("image_id", "category_id"):
        _hashable(item[key], where, key)


def _hashable(value, where: str, key: str):
    if isinstance(value, int | str) and not isinstance(value, bool):
        return value
    raise LabelFileError(f"{where}: {key} must be a number or a string.")


def parse_coco(data: bytes, *, raw: bool = False) -> LabelSets:
    """One labeler's COCO file (``raw``: a file naming each annotation's rater)."""
    images: list[dict] = []
    categories: list = []
    columns = _Columns(raw=raw)
    kind, _ = json_walk(
        json_text(data),
        {"images": images.extend, "categories": categories.extend, "annotations": columns.add},
    )
    if kind != "object":
        raise LabelFileError(
            "this is a list, not a COCO dataset: a model's results list is imported with the "
            "predictions format."
        )
    names = _categories(categories)
    refs, index_of, rater_lists = _images(images, raw=raw)
    return _label_sets(columns, names, refs, index_of, rater_lists, raw=raw, every_image=True)


def parse_coco_results(
    data: bytes, *, categories: dict[int, str], images: dict | None
) -> LabelSets:
    """A model's results: a list of detections, or a COCO file whose annotations have scores.

    ``categories``: category id -> class name, for a results list (a COCO file has its own).
    ``images``: image id -> ImageRef for a results list (from a COCO file uploaded with it);
    None: image ids are Concord's own (the ids of Concord's COCO export), and only images with
    a detection get a label set.
    """
    text = json_text(data)
    columns = _Columns(raw=False)
    listed: list[dict] = []
    found: list = []
    kind, _ = json_walk(
        text, {"": columns.add, "annotations": columns.add, "images": listed.extend,
               "categories": found.extend},
    )  # fmt: skip
    if kind == "object":
        names = _categories(found)
        refs, index_of, _ = _images(listed, raw=False)
        every_image = True
    else:
        names = dict(categories)
        if images is None:
            ids = sorted({i for i in columns.image if isinstance(i, int)})
            refs = [ImageRef(name="", concord_id=i) for i in ids]
            index_of = {i: k for k, i in enumerate(ids)}
            every_image = False
        else:
            index_of = {i: k for k, i in enumerate(images)}
            refs = list(images.values())
            every_image = True
    sets = _label_sets(columns, names, refs, index_of, {}, raw=False, every_image=every_image)
    if not np.isfinite(sets.score).all():
        raise LabelFileError("some detections have no score; a model's results need one each.")
    return sets


def coco_dataset_index(data: bytes) -> tuple[dict, dict[int, str]]:
    """(image id -> ImageRef, category id -> name) of a COCO file: what a results list refers to."""
    images: list[dict] = []
    categories: list = []
    json_walk(json_text(data), {"images": images.extend, "categories": categories.extend})
    refs, index_of, _ = _images(images, raw=False)
    return {i: refs[k] for i, k in index_of.items()}, _categories(categories)


def is_coco_dataset(data: bytes) -> bool:
    """Whether a JSON file is a COCO dataset without annotations to import (only images and
    categories, or annotations without scores) rather than a results list."""
    head = data[:4096].lstrip()
    return head.startswith(b"{") and b'"images"' in data and b'"score"' not in data


def _categories(categories: list) -> dict:
    names = {}
    for k, c in enumerate(categories, start=1):
        if not isinstance(c, dict) or "id" not in c or not isinstance(c.get("name"), str):
            raise LabelFileError(f"category {k} needs an id and a name.")
        names[c["id"]] = c["name"]
    return names


def _images(images: list, *, raw: bool):
    refs, index_of, rater_lists = [], {}, {}
    for k, image in enumerate(images, start=1):
        if not isinstance(image, dict) or "id" not in image:
            raise LabelFileError(f"image {k} has no id.")
        image_id = _hashable(image["id"], f"image {k}", "id")
        if image_id in index_of:
            raise LabelFileError(f"image id {image_id} is listed twice.")
        name = image.get("file_name")
        if not isinstance(name, str) or not name:
            raise LabelFileError(f"image {image_id} has no file_name.")
        width, height = image.get("width"), image.get("height")
        size_ok = all(
            isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in (width, height)
        )
        index_of[image_id] = len(refs)
        refs.append(ImageRef(name, width if size_ok else None, height if size_ok else None))
        if raw:
            raters = image.get("rater_list", [])
            if not isinstance(raters, list) or not all(isinstance(r, str | int) for r in raters):
                raise LabelFileError(f"image {image_id}: rater_list must be a list of names.")
            rater_lists[index_of[image_id]] = [str(r) for r in raters]
    return refs, index_of, rater_lists


def _label_sets(columns, names, refs, index_of, rater_lists, *, raw, every_image) -> LabelSets:
    n = len(columns.image)
    box_image = np.array([index_of.get(i, -1) for i in columns.image], dtype=np.int64)
    if (box_image < 0).any():
        k = int(np.flatnonzero(box_image < 0)[0])
        raise LabelFileError(
            f"annotation {k + 1} is on image {columns.image[k]!r}, which the file does not list."
        )
    label_names = sorted(set(names.values()))
    code_of_name = {name: k for k, name in enumerate(label_names)}
    label_of = {cid: code_of_name[name] for cid, name in names.items()}
    box_label = np.array([label_of.get(c, -1) for c in columns.category], dtype=np.int64)
    if (box_label < 0).any():
        k = int(np.flatnonzero(box_label < 0)[0])
        raise LabelFileError(
            f"annotation {k + 1} has category_id {columns.category[k]!r}, which is not in "
            "categories."
        )
    xywh = np.concatenate(columns.boxes) if columns.boxes else np.zeros((0, 4))
    score = np.concatenate(columns.score) if columns.score else np.zeros(0)
    if not np.isfinite(xywh).all():
        raise LabelFileError("a bbox holds a number that is not finite.")
    notes = []
    if columns.crowd:
        notes.append(f"{plural(columns.crowd, 'crowd region')} (iscrowd 1) left out")

    # Label sets: (image, rater) pairs; rater -1 is the import's labeler (single-rater file).
    raters: list[str] = []
    code_of: dict[str, int] = {}

    def code(name):
        if name is None:
            return -1
        if name not in code_of:
            code_of[name] = len(raters)
            raters.append(name)
        return code_of[name]

    if every_image:
        for image in range(len(refs)):
            for rater in rater_lists.get(image, []) if raw else [None]:
                code(rater)
    if raw:
        final = np.array([code(name) for name in columns.rater_names], dtype=np.int64)
        box_rater = final[np.array(columns.rater, dtype=np.int64)] if n else np.zeros(0, np.int64)
    else:
        box_rater = np.full(n, -1, dtype=np.int64)
    width = len(raters) + 1  # a pair's key: image * width + rater + 1
    keys: dict[int, int] = {}
    if every_image:
        for image in range(len(refs)):
            for rater in rater_lists.get(image, []) if raw else [None]:
                keys.setdefault(image * width + code(rater) + 1, len(keys))
    listed = len(keys)
    box_key = box_image * width + box_rater + 1
    unique, first = np.unique(box_key, return_index=True)
    for key in unique[np.argsort(first)].tolist():  # pairs in the order their boxes come
        keys.setdefault(key, len(keys))
    outside = len(keys) - listed if raw and every_image else 0
    lookup = np.array(list(keys), dtype=np.int64)
    order = np.argsort(lookup)
    box_set = order[np.searchsorted(lookup, box_key, sorter=order)] if n else box_key
    if outside:
        notes.append(
            f"{plural(outside, 'label set')} of labelers missing from their image's rater_list "
            "kept (their labeler added to the image)"
        )
    degenerate = (xywh[:, 2] <= 0) | (xywh[:, 3] <= 0)
    if degenerate.any():
        notes.append(
            f"{plural(int(degenerate.sum()), 'box', 'boxes')} with no width or height left out"
        )
    keep = ~degenerate
    return LabelSets(
        images=refs,
        set_image=lookup // width,
        set_rater=lookup % width - 1,
        raters=raters,
        box_set=box_set[keep],
        xywh=xywh[keep],
        box_label=box_label[keep],
        labels=label_names,
        score=score[keep],
        notes=notes,
    )
