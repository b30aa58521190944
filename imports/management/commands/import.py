"""manage.py import: import labels (or a model's predictions) from files, zips or folders.

    python manage.py import street-scenes vendor_a.json --format coco --labeler vendor_a
    python manage.py import street-scenes raw.json --format coco_raw --images images.zip
    python manage.py import street-scenes export/ --format yolo        # one folder per labeler
    python manage.py import street-scenes results.json --format predictions --labeler yolov8

Runs in this process and prints the report; the assessment of what was imported is a project
recompute (on the workers when REDIS_URL is set; --wait waits for it).
"""

import json
import time
from contextlib import ExitStack
from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from imports.classes import UNKNOWN_CHOICES
from imports.gold import TARGETS
from imports.runs import ImportRefused, import_options_clean, import_run_create
from imports.services import import_execute
from imports.sources import FORMATS
from projects.models import Project
from projects.permissions import Capability, has_capability
from quality.models import AgreementRun


class Command(BaseCommand):
    help = "Import labels or a model's predictions into a project, then assess them."

    def add_arguments(self, parser):
        parser.add_argument("project", help="The project's slug.")
        parser.add_argument("paths", nargs="+", help="Label files, zips or folders.")
        parser.add_argument("--format", required=True, choices=list(FORMATS))
        parser.add_argument(
            "--labeler",
            default="",
            help="Who the labels are from (a model's name for predictions). Leave it out when "
            "the files name their labelers, or when each file or folder is named after one.",
        )
        parser.add_argument(
            "--images", action="append", default=[], help="A zip or folder of images."
        )
        parser.add_argument("--unknown-classes", choices=UNKNOWN_CHOICES, default="refuse")
        parser.add_argument("--score-threshold", type=float, default=None)
        parser.add_argument(
            "--voc-coordinates", choices=["one-based", "zero-based"], default="one-based"
        )
        parser.add_argument(
            "--target",
            choices=list(TARGETS),
            default="labels",
            help="gold: the file's boxes become the true boxes of the images it names (coco, "
            "yolo or voc; needs --user, a lead of the project).",
        )
        parser.add_argument("--user", default="", help="Recorded as who ran the import.")
        parser.add_argument("--wait", action="store_true", help="Wait for the assessment run.")
        parser.add_argument("--json", action="store_true", help="Print the report as JSON.")

    def handle(self, *args, **opts):
        project = Project.objects.filter(slug=opts["project"]).first()
        if project is None:
            raise CommandError(f"No project with slug {opts['project']!r}.")
        user = None
        if opts["user"]:
            user = get_user_model().objects.filter(username=opts["user"]).first()
            if user is None:
                raise CommandError(f"No user named {opts['user']!r}.")
        if opts["target"] == "gold" and (
            user is None or not has_capability(user, project, Capability.MANAGE)
        ):
            raise CommandError("Gold is set by a lead: give --user, a lead of the project.")
        paths = [Path(p) for p in [*opts["paths"], *opts["images"]]]
        for path in paths:
            if not path.exists():
                raise CommandError(f"{path} does not exist.")
        folders = [p for p in paths if p.is_dir()]
        try:
            options = import_options_clean(
                fmt=opts["format"],
                labeler=opts["labeler"],
                unknown_classes=opts["unknown_classes"],
                score_threshold=opts["score_threshold"],
                voc_coordinates=opts["voc_coordinates"],
                target=opts["target"],
            )
        except ImportRefused as exc:
            raise CommandError(str(exc)) from None
        options["folders"] = [str(p.resolve()) for p in folders]
        run = import_run_create(
            project=project, options=options, requested_by=user, names=[p.name for p in paths]
        )
        started = time.monotonic()
        with ExitStack() as stack:
            uploads = [(p.name, stack.enter_context(p.open("rb"))) for p in paths if p.is_file()]
            run = import_execute(run_id=run.pk, uploads=uploads)
        run.refresh_from_db()
        if run.state == AgreementRun.State.FAILED:
            raise CommandError(f"Import failed: {run.error}")
        report = run.params.get("report", {})
        seconds = time.monotonic() - started
        if opts["json"]:
            self.stdout.write(json.dumps(report, indent=2))
        else:
            self._summary(report, seconds)
        assessment = report.get("assessment_run")
        if assessment and opts["wait"]:
            self._wait(assessment)

    def _summary(self, report: dict, seconds: float) -> None:
        images, totals = report["images"], report["totals"]
        if "gold_images" in totals and totals["gold_images"]:
            self.stdout.write(
                f"Gold: {totals['gold_images']} images ({totals['gold_created']} new, "
                f"{totals['gold_changed']} given new boxes, their answers re-scored)."
            )
        self.stdout.write(
            f"Imported in {seconds:.1f} s: {totals['label_sets']} label sets "
            f"({totals['empty_label_sets']} empty), {totals['boxes']} boxes from "
            f"{totals['imported']} of {totals['units']} label files or datasets; images "
            f"{images['added']} added, {images['matched']} already in the project, "
            f"{images['refused_count']} refused."
        )
        for entry in report["units"]:
            line = f"  {entry['name']}: {entry['status']}"
            if entry.get("reason"):
                line += f" ({entry['reason']})"
            self.stdout.write(line)
            for skip in entry.get("skipped", []):
                examples = ", ".join(skip["examples"])
                self.stdout.write(
                    f"    skipped {skip['count']}: {skip['reason']}"
                    + (f" ({examples})" if examples else "")
                )
        if totals["classes_added"]:
            self.stdout.write(f"Classes added: {', '.join(totals['classes_added'])}")
        if totals["raters_created"]:
            self.stdout.write(f"Import-only raters made: {', '.join(totals['raters_created'])}")
        if report.get("assessment_run"):
            self.stdout.write(
                f"Assessment: run {report['assessment_run']} (/api/runs/{report['assessment_run']}/)"
            )

    def _wait(self, run_id: int) -> None:
        started = time.monotonic()
        while True:
            run = AgreementRun.objects.get(pk=run_id)
            if run.state in (AgreementRun.State.SUCCEEDED, AgreementRun.State.FAILED):
                break
            time.sleep(1)
        self.stdout.write(
            f"Assessment {run.state} after {time.monotonic() - started:.1f} s: "
            f"{run.done} of {run.total} images. {run.error}"
        )
