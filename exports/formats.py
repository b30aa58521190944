"""One export as a file: its byte stream, content type and name. The API and the command both use it."""

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.utils import timezone

from exports.coco import coco_pieces
from exports.csv import csv_pieces
from exports.params import ExportSpec
from exports.selectors import ExportQuery
from exports.streaming import coalesce, image_bytes
from exports.voc import voc_chunks
from exports.yolo import yolo_chunks
from exports.zipstream import ZipStream
from projects.models import Project


@dataclass
class ExportFile:
    chunks: Iterator[bytes]
    content_type: str
    filename: str
    query: ExportQuery


def export_info(query: ExportQuery) -> dict:
    project = query.project
    return {
        "description": project.name,
        "project_id": project.pk,
        "project_slug": project.slug,
        "date_created": timezone.now().isoformat(timespec="seconds"),
        "contributor": "Concord",
        "filters": query.spec.as_query(),
        "withheld_images_with_class_ties": query.withheld_ties(),
        **({"split": query.split.counts()} if query.split is not None else {}),
    }


def export_readme(query: ExportQuery, info: dict) -> str:
    filters = ", ".join(f"{k}={v}" for k, v in info["filters"].items())
    lines = [
        f"Concord export of {query.project.name} ({info['date_created']}).",
        f"Filters: {filters}.",
        "Every exported image was labeled: an empty label file means the image holds no objects.",
        "Images not yet labeled are left out entirely.",
        f"Images withheld because the labelers' classes tie: {info['withheld_images_with_class_ties']}.",
        FILE_NAMES,
        COORDINATES[query.spec.format],
    ]
    split = query.split
    if split is not None:
        from quality.engine.near_duplicates import NEAR_DUPLICATE_BITS

        counts = ", ".join(f"{k} {v}" for k, v in sorted(split.counts().items()))
        lines.append(
            f"Split (seed {query.spec.split.seed}): {counts} images; near-duplicate images "
            f"(perceptual hash within {NEAR_DUPLICATE_BITS} bits) are kept in one subset: "
            f"{split.images_in_groups} images in {split.groups_joined} such groups."
        )
    return "\n".join(lines) + "\n"


FILE_NAMES = (
    "File names are the names the images were uploaded with (without folders). Two images whose "
    "names differ only by extension or case would share a label file, so within a project the "
    "image uploaded first keeps the name and later ones get their Concord image id as a prefix "
    "(<id>_<name>); a name without an extension gets the stored file's."
)

COORDINATES = {
    "coco": "COCO bbox: [x, y, width, height] in pixels from the top-left corner of the image "
    "(0-based, continuous: the first pixel column spans x 0..1), rounded to 1/100 pixel; category "
    "ids 1..N in the project's class order; segmentation [] (boxes only).",
    "yolo": "YOLO: one line per box, `class cx cy w h`, centre and size divided by the image width "
    "and height (0..1, six decimals), clipped to the image; class = position in data.yaml names.",
    "voc": "Pascal VOC: xmin/ymin/xmax/ymax are 1-based inclusive pixel indices as in the VOC "
    "devkit: xmin = round(x) + 1, xmax = round(x + width). supervision and Detectron2 subtract 1 "
    "from xmin/ymin when they load them, datumaro does with coordinate_mode=voc-one-based (its "
    "default keeps the numbers); globox and torchvision keep the numbers as written (subtract 1 "
    "from xmin/ymin to get Concord's 0-based pixels back).",
    "csv": "CSV: x, y, w, h in pixels from the top-left corner (0-based, continuous), 2 decimals.",
}


def export_file(
    *,
    project: Project,
    spec: ExportSpec,
    progress: Callable[[int], None] | None = None,
    text_in_database: bool | None = None,
) -> ExportFile:
    """Build the export's stream; raises ExportParamError for classes the project does not have.

    text_in_database: see ExportQuery.text_in_database (None: PostgreSQL writes COCO and YOLO).
    """
    query = ExportQuery(project=project, spec=spec, text_in_database=text_in_database)
    info = export_info(query)
    base = f"{project.slug}-{spec.source}-{spec.format}"
    fmt = spec.format
    readme = export_readme(query, info)
    if fmt in ("yolo", "voc"):
        writer = yolo_chunks if fmt == "yolo" else voc_chunks
        chunks = coalesce(writer(query, readme=readme, progress=progress))
        return ExportFile(chunks, "application/zip", f"{base}.zip", query)
    if fmt == "coco" and (spec.layout == "datumaro" or spec.split is not None):
        chunks = coalesce(_coco_subsets(query, info, readme, progress))
        return ExportFile(chunks, "application/zip", f"{base}.zip", query)
    if fmt == "coco":
        pieces, inner, content_type = (
            coco_pieces(query, info=info, progress=progress),
            "annotations.json",
            "application/json",
        )
    else:
        pieces, inner, content_type = (
            csv_pieces(query, progress=progress),
            "labels.csv",
            "text/csv; charset=utf-8",
        )
    if not spec.include_images:
        return ExportFile(
            coalesce(pieces), content_type, f"{base}.{inner.rsplit('.', 1)[1]}", query
        )
    return ExportFile(
        coalesce(_with_images(query, inner, pieces, readme)),
        "application/zip",
        f"{base}.zip",
        query,
    )


def _with_images(query: ExportQuery, inner: str, pieces, readme: str) -> Iterator[bytes]:
    archive = ZipStream()
    yield archive.entry("README.txt", readme.encode())
    yield from archive.entry_stream(inner, coalesce(pieces))
    for image in query.images():
        yield archive.entry(
            f"images/{image.file_name}", image_bytes(image.storage_name), compress=False
        )
    yield from archive.finish()


def _coco_subsets(query: ExportQuery, info: dict, readme: str, progress) -> Iterator[bytes]:
    """datumaro's COCO layout: annotations/instances_<subset>.json and images/<subset>/."""
    archive = ZipStream()
    yield archive.entry("README.txt", readme.encode())
    subsets = [query] if query.spec.split is None else [query.for_subset(s) for s in query.subsets]
    for part in subsets:
        name = part.subset or "default"
        pieces = coco_pieces(part, info=info, progress=progress)
        yield from archive.entry_stream(f"annotations/instances_{name}.json", coalesce(pieces))
        if query.spec.include_images:
            for image in part.images():
                yield archive.entry(
                    f"images/{name}/{image.file_name}",
                    image_bytes(image.storage_name),
                    compress=False,
                )
    yield from archive.finish()
