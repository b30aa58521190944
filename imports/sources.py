"""What an import upload holds: its label files grouped into units, and its image files.

Uploads are files, zips (opened, each member checked as image uploads are: projects.ingest)
or folders on the server. Every file gets a path: a zip's members sit under the zip's name
without ".zip", a folder's under its name, loose files at the top.

A *unit* is what is read, written and reported as one: a label file (COCO, CVAT, Label Studio,
a results list), or a dataset (YOLO: a data.yaml or names file with the label files below it;
VOC: an Annotations folder). Who labeled a unit: the rater named by the file itself (raw COCO,
Label Studio), else the import's ``labeler``; without one, an upload of several units names
each after its file or folder (vendor_a.json, vendor_a/data.yaml, vendor_a.zip), which is how
Concord's raw YOLO and VOC exports (one dataset folder per labeler) come back.
"""

from __future__ import annotations

import os
import posixpath
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from django.conf import settings

from imports.formats.coco import (
    coco_dataset_index,
    is_coco_dataset,
    parse_coco,
    parse_coco_results,
)
from imports.formats.cvat import parse_cvat
from imports.formats.labelstudio import parse_labelstudio
from imports.formats.types import LabelSets
from imports.formats.voc import image_set_stems, parse_voc_dataset
from imports.formats.yolo import is_label_file, is_names_file, parse_yolo_dataset, yolo_names
from projects.ingest import is_junk_file, read_bounded, zip_member_is_safe

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".webp")
FORMATS = {
    "coco": "COCO JSON, one labeler's (one file per labeler)",
    "coco_raw": "COCO JSON of several labelers: rater_list per image, rater per annotation",
    "yolo": "YOLO: data.yaml (or obj.names) and one .txt label file per image",
    "voc": "Pascal VOC: one XML per image (Annotations/)",
    "cvat": "CVAT for images 1.1 XML",
    "labelstudio": "Label Studio JSON export (rectangles in percent)",
    "predictions": "A model's detections: COCO results JSON, or YOLO .txt with a confidence",
}
SINGLE_RATER = {"coco", "yolo", "voc", "cvat", "predictions"}


class UploadRefused(ValueError):
    """Nothing in the upload can be imported as asked; the message says why."""


@dataclass
class SourceFile:
    path: str
    size: int
    opener: Callable[[], BinaryIO]

    def read(self, limit: int | None = None) -> bytes:
        limit = settings.IMPORT_FILE_MAX_BYTES if limit is None else limit
        with self.opener() as handle:
            return read_bounded(handle, limit)

    @property
    def is_image(self) -> bool:
        return self.path.lower().endswith(IMAGE_EXTENSIONS)


@dataclass
class LabelUnit:
    """One label file or dataset: ``read()`` gives its label sets and the files of it refused
    on their own [(path, reason)]; ``rater``: who labeled it when the file does not say."""

    name: str
    rater: str | None
    read: Callable[[], tuple[LabelSets, list[tuple[str, str]]]]


def upload_files(
    uploads: list[tuple[str, BinaryIO]], folders: list[Path] = ()
) -> tuple[list[SourceFile], list[tuple[str, str]]]:
    """Every file of the uploads, zips and folders, and the ones refused [(path, reason)].

    Zips stay open (their member readers need them) until the uploads are closed.
    """
    files: list[SourceFile] = []
    refused: list[tuple[str, str]] = []
    for name, handle in uploads:
        if name.lower().endswith(".zip"):
            _zip_files(name, handle, files, refused)
        else:
            files.append(SourceFile(posixpath.basename(name), _size(handle), _reopen(handle)))
    for folder in folders:
        _folder_files(Path(folder), files, refused)
    if len(files) > settings.IMPORT_MAX_FILES:
        raise UploadRefused(
            f"the upload holds {len(files)} files; the limit is {settings.IMPORT_MAX_FILES}."
        )
    return files, refused


def _size(handle) -> int:
    position = handle.tell()
    handle.seek(0, os.SEEK_END)
    size = handle.tell()
    handle.seek(position)
    return size


def _reopen(handle):
    class _Keep:
        def __enter__(self):
            handle.seek(0)
            return handle

        def __exit__(self, *exc):
            return False

    return _Keep


def _zip_files(name, handle, files, refused) -> None:
    root = posixpath.splitext(posixpath.basename(name))[0]
    try:
        archive = zipfile.ZipFile(handle)
        members = [info for info in archive.infolist() if not info.is_dir()]
    except (zipfile.BadZipFile, OSError) as exc:
        refused.append((name, f"not a readable zip file ({exc})"))
        return
    for info in members:
        path = f"{root}/{info.filename}"
        if is_junk_file(info.filename):
            continue
        if not zip_member_is_safe(info.filename):
            refused.append((path, "unsafe path in the zip (absolute or with ..)"))
            continue
        files.append(
            SourceFile(path, info.file_size, lambda info=info, archive=archive: archive.open(info))
        )


def _folder_files(folder: Path, files, refused) -> None:
    if not folder.is_dir():
        raise UploadRefused(f"{folder} is not a folder.")
    for directory, subdirs, names in os.walk(folder, followlinks=False):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        for name in sorted(names):
            full = Path(directory) / name
            relative = full.relative_to(folder.parent).as_posix()
            if is_junk_file(relative) or full.is_symlink():
                continue
            files.append(
                SourceFile(relative, full.stat().st_size, lambda full=full: full.open("rb"))
            )


def upload_plan(
    *, fmt: str, files: list[SourceFile], labeler: str, options: dict
) -> list[LabelUnit]:
    """The upload's label units for format ``fmt``, each with the rater it is attributed to.

    Raises UploadRefused when there is nothing to import, or the rater of single-rater labels
    is not named (one unit and no ``labeler``).
    """
    if fmt not in FORMATS:
        raise UploadRefused(f"format must be one of {', '.join(FORMATS)}; got {fmt!r}.")
    labels = [f for f in files if not f.is_image]
    if fmt in ("yolo", "voc") or (fmt == "predictions" and not _json(labels)):
        units = _datasets(fmt, labels, options)
    else:
        units = _files(fmt, labels, options, named=not labeler)
    if not units:
        raise UploadRefused(_nothing(fmt))
    labeler = labeler.strip()
    if labeler:
        for unit in units:
            unit.rater = labeler
    elif fmt in SINGLE_RATER:
        if len(units) == 1:
            who = "the model" if fmt == "predictions" else "the labeler"
            raise UploadRefused(
                f"name {who} these labels are from (labeler), or upload several files or "
                "folders, each named after its labeler."
            )
        names = [unit.rater for unit in units]
        if len(set(names)) != len(names):
            raise UploadRefused(
                "several label files or folders have the same name, so they cannot name their "
                "labelers; name the labeler, or rename them."
            )
    else:
        for unit in units:
            unit.rater = None  # the file names its raters
    return units


def _json(files: list[SourceFile]) -> list[SourceFile]:
    return [f for f in files if f.path.lower().endswith(".json")]


def _rater_of(path: str) -> str:
    name = posixpath.basename(path.rstrip("/")) or path
    return posixpath.splitext(name)[0] if name.lower().endswith((".json", ".xml", ".zip")) else name


def _files(fmt: str, labels: list[SourceFile], options: dict, *, named: bool) -> list[LabelUnit]:
    extension = ".xml" if fmt == "cvat" else ".json"
    chosen = [f for f in labels if f.path.lower().endswith(extension)]
    if fmt == "predictions":
        datasets = [f for f in chosen if is_coco_dataset(f.read())]
        chosen = [f for f in chosen if f not in datasets]
        if len(datasets) > 1:
            raise UploadRefused(
                "upload at most one COCO dataset file with the results (it says which image and "
                "class each id is)."
            )
        index = coco_dataset_index(datasets[0].read()) if datasets else None
        categories = options.get("categories") or {}
        if index is not None:
            images, categories = index
        else:
            images = None

        def reader(f):
            return lambda: (
                parse_coco_results(f.read(), categories=categories, images=images),
                [],
            )
    else:
        parsers = {
            "coco": lambda data, path: parse_coco(data),
            "coco_raw": lambda data, path: parse_coco(data, raw=True),
            "cvat": lambda data, path: parse_cvat(data, path=path),
            "labelstudio": lambda data, path: parse_labelstudio(data, named_raters=named),
        }
        parse = parsers[fmt]

        def reader(f):
            return lambda: (parse(f.read(), f.path), [])

    return [LabelUnit(f.path, _rater_of(f.path), reader(f)) for f in chosen]


def _datasets(fmt: str, labels: list[SourceFile], options: dict) -> list[LabelUnit]:
    """YOLO and VOC datasets: label files grouped under their roots."""
    if fmt == "voc":
        xmls = [f for f in labels if f.path.lower().endswith(".xml")]
        groups: dict[str, list[SourceFile]] = {}
        for f in xmls:
            parts = f.path.split("/")
            root = (
                "/".join(parts[: parts.index("Annotations")])
                if "Annotations" in parts[:-1]
                else posixpath.dirname(f.path)
            )
            groups.setdefault(root, []).append(f)
        one_based = options.get("voc_coordinates", "one-based") == "one-based"
        lists = [
            f for f in labels if "/ImageSets/Main/" in f"/{f.path}" and f.path.endswith(".txt")
        ]

        def voc_reader(root, members):
            def read():
                mine = [
                    f
                    for f in lists
                    if f.path.startswith(f"{root}/ImageSets/" if root else "ImageSets/")
                ]
                listed = [stem for f in mine for stem in image_set_stems(f.read())]
                return parse_voc_dataset(
                    [(m.path, m.read()) for m in members], one_based=one_based, listed=listed
                )

            return read

        return [
            LabelUnit(f"{root or '.'}/ (VOC, {len(members)} XML files)", _rater_of(root),
                      voc_reader(root, members))
            for root, members in sorted(groups.items())
        ]  # fmt: skip
    with_score = fmt == "predictions"
    roots = {
        posixpath.dirname(f.path): f
        for f in sorted(
            labels, key=lambda f: (not f.path.lower().endswith((".yaml", ".yml")), f.path)
        )
        if is_names_file(f.path)
    }
    texts = [f for f in labels if is_label_file(f.path)]
    if not roots:
        if texts:
            raise UploadRefused(
                "YOLO label files need their class names: put data.yaml (names: [...]) or "
                "obj.names / classes.txt at the top of the dataset."
            )
        return []
    groups = {root: [] for root in roots}
    orphans = []
    for f in texts:
        owner = max(
            (r for r in roots if r == "" or f.path.startswith(r + "/")), key=len, default=None
        )
        (groups[owner] if owner is not None else orphans).append(f)
    if orphans:
        raise UploadRefused(
            f"{len(orphans)} label files (such as {orphans[0].path}) have no data.yaml or names "
            "file in a folder above them."
        )

    def yolo_reader(names_file, members):
        def read():
            names = yolo_names(names_file.read(), names_file.path)
            return parse_yolo_dataset(
                names, [(m.path, m.read()) for m in members], with_score=with_score
            )

        return read

    return [
        LabelUnit(f"{root or '.'}/ (YOLO, {len(members)} label files)", _rater_of(root),
                  yolo_reader(roots[root], members))
        for root, members in sorted(groups.items())
        if members
    ]  # fmt: skip


def _nothing(fmt: str) -> str:
    expected = {
        "coco": "a COCO .json file",
        "coco_raw": "a COCO .json file",
        "labelstudio": "Label Studio's .json export",
        "cvat": "a CVAT .xml file",
        "yolo": "data.yaml and .txt label files",
        "voc": "VOC .xml files",
        "predictions": "a results .json file, or YOLO .txt files with data.yaml",
    }[fmt]
    return f"no label files found for {fmt}: the upload should hold {expected}."
