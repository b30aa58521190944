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
    }


def export_readme(query: ExportQuery, info: dict) -> str:
    filters = ", ".join(f"{k}={v}" for k, v in info["filters"].items())
    return (
        f"Concord export of {query.project.name} ({info['date_created']}).\n"
        f"Filters: {filters}.\n"
        "Every exported image was labeled: an empty label file means the image holds no objects.\n"
        "Images not yet labeled are left out entirely.\n"
        f"Images withheld because the labelers' classes tie: {info['withheld_images_with_class_ties']}.\n"
    )


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
    if fmt in ("yolo", "voc"):
        writer = yolo_chunks if fmt == "yolo" else voc_chunks
        chunks = coalesce(writer(query, readme=export_readme(query, info), progress=progress))
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
        coalesce(_with_images(query, inner, pieces, export_readme(query, info))),
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
