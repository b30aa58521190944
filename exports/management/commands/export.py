"""`python manage.py export <project slug or id> --format coco -o labels.json`: the API's export, to a file."""

import sys
from contextlib import nullcontext
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from concord.params import id_value
from exports.formats import export_file
from exports.params import FORMATS, SOURCES, ExportParamError, export_spec_parse
from projects.models import Project


class Command(BaseCommand):
    help = (
        "Export a project's labels (COCO, YOLO, Pascal VOC or CSV) to a file, with the same "
        "sources and filters as GET /api/projects/{id}/export/. Progress goes to stderr."
    )

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's slug or id.")
        parser.add_argument("--format", default="coco", choices=FORMATS)
        parser.add_argument("--source", default="consensus", choices=SOURCES)
        parser.add_argument("--min-agreement", dest="min_agreement", default="")
        parser.add_argument("--exclude-flagged", dest="exclude_flagged", action="store_true")
        parser.add_argument("--classes", default="", help="Comma-separated class names or ids.")
        parser.add_argument(
            "--min-instruction-version",
            dest="min_instruction_version",
            default="",
            help="Only images every labeler labeled under this instruction version or later.",
        )
        parser.add_argument(
            "--all-images",
            dest="complete_only",
            action="store_false",
            help="Include images that do not have all their label sets yet (complete_only=0).",
        )
        parser.add_argument("--include-images", dest="include_images", action="store_true")
        parser.add_argument(
            "--layout", default="file", help="coco: file (one JSON) or datumaro (zip per subset)."
        )
        parser.add_argument(
            "--split", default="", help="train,val[,test] fractions, e.g. 0.8,0.1,0.1"
        )
        parser.add_argument("--split-seed", dest="split_seed", default="")
        parser.add_argument(
            "-o", "--output", required=True, help="The file to write ('-' for stdout)."
        )
        parser.add_argument("--no-progress", dest="progress", action="store_false")

    def handle(self, *args, **options):
        project = _project(options["project"])
        try:
            spec = export_spec_parse(
                {
                    "format": options["format"],
                    "source": options["source"],
                    "min_agreement": options["min_agreement"],
                    "exclude_flagged": "1" if options["exclude_flagged"] else "0",
                    "classes": options["classes"],
                    "min_instruction_version": options["min_instruction_version"],
                    "complete_only": "1" if options["complete_only"] else "0",
                    "include_images": "1" if options["include_images"] else "0",
                    "layout": options["layout"],
                    "split": options["split"],
                    "split_seed": options["split_seed"],
                }
            )
            bar = None
            if options["progress"]:
                total = _count(project, spec)
                bar = tqdm(total=total, unit="image", file=sys.stderr, desc=f"{spec.format} export")
            exported = export_file(project=project, spec=spec, progress=bar.update if bar else None)
        except ExportParamError as error:
            raise CommandError(str(error)) from None
        written = 0
        target = options["output"]
        out = sys.stdout.buffer if target == "-" else None
        path = Path(target)
        partial = path.with_name(path.name + ".partial")
        try:
            with open(partial, "wb") if out is None else nullcontext(out) as handle:
                for chunk in exported.chunks:
                    handle.write(chunk)
                    written += len(chunk)
            if out is None:
                partial.replace(path)  # never leave a half-written file under the real name
        except BaseException:
            if out is None:
                partial.unlink(missing_ok=True)
            raise
        finally:
            if bar is not None:
                bar.close()
        if out is None:
            self.stderr.write(f"Wrote {written:,} bytes to {path} ({exported.filename}).")


def _project(ref: str) -> Project:
    project = Project.objects.filter(slug=ref).first()
    if project is None and id_value(ref) is not None:
        project = Project.objects.filter(pk=id_value(ref)).first()
    if project is None:
        raise CommandError(f"No project with slug or id {ref!r}.")
    return project


def _count(project, spec) -> int:
    from exports.selectors import ExportQuery

    return ExportQuery(project=project, spec=spec).image_count()
