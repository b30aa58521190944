"""The lead's Import page: upload labels (or a model's predictions) with their images, follow
the import and the assessment it starts, and read each import's per-file report."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from imports.classes import UNKNOWN_CHOICES
from imports.enqueue import import_start
from imports.runs import ImportRefused, import_options_clean
from imports.sources import FORMATS
from projects.permissions import Capability, project_for, role_of
from quality.models import AgreementRun

RECENT = 10
UNKNOWN_NOTES = {
    "refuse": "Refuse the file and list the classes (nothing of it is imported)",
    "add": "Add them to the project as new classes",
    "ignore": "Leave their boxes out (counted in the report)",
}


@login_required
@require_http_methods(["GET", "POST"])
def import_page(request, slug):
    project = project_for(request, slug, Capability.MANAGE)
    error = None
    form = request.POST if request.method == "POST" else {}
    if request.method == "POST":
        try:
            options = import_options_clean(
                fmt=form.get("format", ""),
                labeler=form.get("labeler", ""),
                unknown_classes=form.get("unknown_classes", "refuse"),
                score_threshold=_threshold(form.get("score_threshold", "")),
                voc_coordinates=form.get("voc_coordinates", "one-based"),
                target=form.get("target", "labels"),
            )
            run = import_start(
                project=project,
                uploads=[(f.name, f) for f in request.FILES.getlist("files")],
                options=options,
                requested_by=request.user,
            )
        except ImportRefused as exc:
            error = str(exc)
        else:
            return redirect(f"{reverse('imports:page', args=[project.slug])}?run={run.pk}")
    runs = list(
        AgreementRun.objects.filter(project=project, kind=AgreementRun.Kind.IMPORT)
        .select_related("requested_by")
        .order_by("-created_at", "-id")[:RECENT]
    )
    assessed = {run.params.get("report", {}).get("assessment_run") for run in runs} - {None}
    assessments = AgreementRun.objects.in_bulk(list(assessed))
    context = {
        "project": project,
        "role": role_of(request.user, project),
        "formats": list(FORMATS.items()),
        "unknown_choices": [(c, UNKNOWN_NOTES[c]) for c in UNKNOWN_CHOICES],
        "form": {
            "format": form.get("format", "coco"),
            "labeler": form.get("labeler", ""),
            "unknown_classes": form.get("unknown_classes", "refuse"),
            "score_threshold": form.get("score_threshold", "0.5"),
            "voc_coordinates": form.get("voc_coordinates", "one-based"),
            "target": form.get("target", "labels"),
        },
        "error": error,
        "runs": [
            (
                run,
                run.params.get("report"),
                assessments.get(run.params.get("report", {}).get("assessment_run")),
            )
            for run in runs
        ],
        "classes": list(project.classes.values_list("name", flat=True)),
    }
    return render(request, "imports/import.html", context, status=400 if error else 200)


def _threshold(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        return float(text)
    except ValueError:
        raise ImportRefused("the score threshold must be a number from 0 to 1.") from None
