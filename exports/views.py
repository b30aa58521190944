"""The Export page: pick a format, a source and filters; download the file through the export API
(session auth), copy the same request as a curl call or a `manage.py export` command, and read
the data card for exactly those filters."""

import shlex
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_safe

from exports.datacard import datacard_build, datacard_markdown
from exports.params import FORMATS, SOURCES, ExportParamError, ExportSpec, export_spec_parse
from projects.markdown import render_markdown
from projects.models import Project
from projects.permissions import Capability, project_for, role_of

FORMAT_NOTES = {
    "coco": "One JSON file (annotations.json layout).",
    "yolo": "A zip: data.yaml and one .txt label file per image.",
    "voc": "A zip of Pascal VOC XML files, one per image.",
    "csv": "One row per box, with the image's file name.",
}
SOURCE_NOTES = {
    "consensus": "The labelers' consensus, with your adjudication where you settled an image.",
    "adjudicated": "Only the images a lead adjudicated, with the lead's boxes.",
    "raw": "Every labeler's own boxes, each named: for training on disagreement or auditing.",
    "gold": "Only the gold images, with the true boxes you set: a test set.",
}
FILTERS = (
    "format", "source", "min_agreement", "exclude_flagged", "classes", "min_instruction_version",
    "complete_only", "include_images",
)  # fmt: skip


@login_required
@require_safe
def export_page(request, slug):
    project = project_for(request, slug, Capability.EXPORT)
    params = _form_params(request.GET)
    error, card = None, None
    try:
        spec = export_spec_parse(params)
        card = datacard_build(project=project, spec=spec)
    except ExportParamError as exc:
        error, spec = exc, ExportSpec()
    query = _query(spec)
    export_url = reverse("api-export", args=[project.pk]) + "?" + urlencode(query)
    card_query = {k: v for k, v in query.items() if k not in ("format", "include_images")}
    card_url = reverse("api-datacard", args=[project.pk])
    versions = list(
        project.instruction_versions.order_by("number").values_list("number", flat=True)
    )
    context = {
        "project": project,
        "role": role_of(request.user, project),
        "spec": spec,
        "error": error,
        "formats": [(f, FORMAT_NOTES[f]) for f in FORMATS],
        "sources": [(s, SOURCE_NOTES[s]) for s in SOURCES],
        "classes": project.classes.all(),
        "chosen_classes": {c.lower() for c in spec.classes},
        "versions": versions,
        "export_url": export_url,
        "datacard_json_url": card_url + "?" + urlencode({**card_query, "format": "json"}),
        "datacard_md_url": card_url + "?" + urlencode({**card_query, "format": "md"}),
        "curl": _curl(request.build_absolute_uri(export_url), spec, project),
        "command": _command(project, spec),
        "card": card,
        "card_html": render_markdown(_without_title(datacard_markdown(card))) if card else "",
    }
    return render(request, "exports/export.html", context, status=400 if error else 200)


def _form_params(get) -> dict:
    """The query string as the API reads it: checkboxes send "1" when ticked, nothing when not;
    classes come as one value per ticked box."""
    params = {name: get.get(name, "") for name in FILTERS if name != "classes"}
    params["classes"] = ",".join(get.getlist("classes"))
    if "submitted" in get:  # the form was sent: an unticked box means 0
        for name in ("exclude_flagged", "complete_only", "include_images"):
            params[name] = params[name] or "0"
    return params


def _query(spec: ExportSpec) -> dict:
    """The shortest API query for this export: defaults left out."""
    query = {"format": spec.format, "source": spec.source}
    if spec.min_agreement is not None:
        query["min_agreement"] = f"{spec.min_agreement:g}"
    if spec.exclude_flagged:
        query["exclude_flagged"] = "1"
    if spec.classes:
        query["classes"] = ",".join(spec.classes)
    if spec.min_instruction_version is not None:
        query["min_instruction_version"] = str(spec.min_instruction_version)
    if not spec.complete_only:
        query["complete_only"] = "0"
    if spec.include_images:
        query["include_images"] = "1"
    return query


def _file_name(project: Project, spec: ExportSpec) -> str:
    zipped = spec.format in ("yolo", "voc") or spec.include_images
    extension = "zip" if zipped else {"coco": "json", "csv": "csv"}[spec.format]
    return f"{project.slug}-{spec.source}-{spec.format}.{extension}"


def _curl(url: str, spec: ExportSpec, project: Project) -> str:
    return (
        'curl -fS -H "Authorization: Token $CONCORD_TOKEN" \\\n'
        f"  -o {shlex.quote(_file_name(project, spec))} \\\n"
        f"  {shlex.quote(url)}"
    )


def _command(project: Project, spec: ExportSpec) -> str:
    parts = ["python", "manage.py", "export", project.slug, "--format", spec.format]
    parts += ["--source", spec.source]
    if spec.min_agreement is not None:
        parts += ["--min-agreement", f"{spec.min_agreement:g}"]
    if spec.exclude_flagged:
        parts.append("--exclude-flagged")
    if spec.classes:
        parts += ["--classes", ",".join(spec.classes)]
    if spec.min_instruction_version is not None:
        parts += ["--min-instruction-version", str(spec.min_instruction_version)]
    if not spec.complete_only:
        parts.append("--all-images")
    if spec.include_images:
        parts.append("--include-images")
    parts += ["-o", _file_name(project, spec)]
    return " ".join(shlex.quote(p) for p in parts)


def _without_title(markdown: str) -> str:
    """The card's Markdown without its first heading (the page has its own)."""
    first, _, rest = markdown.partition("\n")
    return rest if first.startswith("# ") else markdown
