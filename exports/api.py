"""Export and data card endpoints. Streams are built by exports.formats; nothing here per box."""

from django.http import HttpResponse, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from concord.exceptions import ApiErrorOutput
from exports.datacard import datacard_build, datacard_markdown
from exports.formats import export_file
from exports.params import FORMATS, LAYOUTS, SOURCES, ExportParamError, export_spec_parse
from projects.permissions import Capability, ProjectScopedApi


class IgnoreFormatParameter(BaseContentNegotiation):
    """`format` here names the export format, not a DRF renderer: always answer JSON on errors."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


FILTER_PARAMETERS = [
    OpenApiParameter(
        "source",
        str,
        enum=list(SOURCES),
        default="consensus",
        description="consensus: the labelers' consensus, with the lead's adjudication where there "
        "is one. adjudicated: only images the lead settled. raw: every labeler's submitted boxes, "
        "labeler named. gold: the gold images with the true boxes the lead set (labelers' "
        "answers on gold images are in no source).",
    ),
    OpenApiParameter(
        "min_agreement",
        float,
        description="Keep images whose agreement score (0-1) is at least this. Adjudicated images "
        "pass in consensus/adjudicated exports.",
    ),
    OpenApiParameter(
        "exclude_flagged", bool, default=False, description="Leave out images with open flags."
    ),
    OpenApiParameter(
        "classes",
        str,
        # No example value: Swagger UI's "Try it out" would send it (a 400 on a project without
        # those classes, a silently narrowed export on one with them).
        description="Comma-separated class names or ids, such as `car,truck`; only boxes of these "
        "classes are exported. Leave empty for every class.",
    ),
    OpenApiParameter(
        "min_instruction_version",
        int,
        description="Keep images whose every labeler labeled them under this instruction version "
        "or a later one (label sets from before versions were recorded count as older).",
    ),
    OpenApiParameter(
        "complete_only",
        bool,
        default=True,
        description="Only images with all their labelers' submitted label sets.",
    ),
]

ERRORS = {
    400: OpenApiResponse(
        ApiErrorOutput,
        description="A parameter is not valid; `param` names it.",
        examples=[
            OpenApiExample(
                "bad format",
                value={
                    "detail": "format must be one of coco, yolo, voc, csv; got 'xml'.",
                    "param": "format",
                },
            )
        ],
    ),
    401: OpenApiResponse(ApiErrorOutput, description="Not logged in and no token sent."),
    403: OpenApiResponse(
        ApiErrorOutput, description="Your role in the project (labeler) cannot export."
    ),
    404: OpenApiResponse(ApiErrorOutput, description="No such project, or you have no role in it."),
}


class ProjectExportApi(ProjectScopedApi):
    """Exports answer files, and JSON only for errors (whatever `format` asks)."""

    required_capability = Capability.EXPORT
    renderer_classes = [JSONRenderer]
    content_negotiation_class = IgnoreFormatParameter


class ExportApi(ProjectExportApi):
    @extend_schema(
        tags=["exports"],
        summary="Export labels as COCO, YOLO, Pascal VOC or CSV (streamed)",
        description=(
            "Streams the project's labels. `coco`: one JSON file (category ids 1..N in class order, "
            "`segmentation` [], `bbox` [x, y, width, height] in 0-based continuous pixels rounded to "
            "1/100), or with `layout=datumaro` a zip of `annotations/instances_<subset>.json` and "
            "`images/<subset>/`; `csv`: one row per box (pixels, 2 decimals); `yolo`: a zip with "
            "`data.yaml`, `labels/<stem>.txt` (centre and size over the image size, 6 decimals) and "
            "`images/`; `voc`: a zip in the devkit layout (`Annotations/`, `ImageSets/Main/<subset>.txt`, "
            "`JPEGImages/`, `labelmap.txt` with the project's classes). VOC coordinates are 1-based "
            "inclusive pixel indices: xmin = round(x) + 1, xmax = round(x + width); supervision and "
            "Detectron2 subtract 1 from xmin/ymin, datumaro does with `coordinate_mode=voc-one-based`, "
            "globox and torchvision keep the numbers. File names are the uploaded names; a later "
            "image whose name (without extension, ignoring case) is already taken in the project is "
            "prefixed with its id (`<id>_<name>`). Raw yolo and voc exports hold one dataset folder "
            "per labeler (`<labeler>/data.yaml`, `<labeler>/labels/`, ...). With `split`, images are "
            "dealt into train/val/test without ever separating near-duplicate images (see the data "
            "card). An image labeled as having no objects is exported as empty "
            "(COCO image without annotations, empty .txt, XML without objects, CSV row with an empty "
            "label); an image not yet labeled is not exported at all. Images whose consensus has a "
            "class tie are withheld (see the data card). Raw COCO names the labeler of each "
            "annotation in `rater` and each image's labelers in `rater_list` (kalphacv reads "
            "both). Needs the lead or engineer role."
        ),
        parameters=[
            OpenApiParameter("format", str, enum=list(FORMATS), default="coco"),
            *FILTER_PARAMETERS,
            OpenApiParameter(
                "include_images",
                bool,
                default=False,
                description="Put the image files in the zip (coco and csv then come as a zip).",
            ),
            OpenApiParameter(
                "layout",
                str,
                enum=list(LAYOUTS),
                default="file",
                description="coco only. file: one annotations.json (with images/ when included); "
                "datumaro: annotations/instances_<subset>.json and images/<subset>/ in a zip.",
            ),
            OpenApiParameter(
                "split",
                str,
                description="Train, val and optionally test fractions adding up to 1 (coco, yolo, "
                "voc). Near-duplicate images always land in the same subset. COCO then uses the "
                "datumaro layout; YOLO writes images/<subset>/ and labels/<subset>/; VOC writes "
                "ImageSets/Main/<subset>.txt. For example 0.8,0.1,0.1.",
            ),
            OpenApiParameter(
                "split_seed",
                int,
                default=0,
                description="Seed of the split (same seed, same split).",
            ),
        ],
        responses={
            (200, "application/json"): OpenApiResponse(OpenApiTypes.OBJECT, description="COCO"),
            (200, "application/zip"): OpenApiResponse(
                OpenApiTypes.BINARY, description="YOLO or VOC zip"
            ),
            (200, "text/csv"): OpenApiResponse(OpenApiTypes.STR, description="CSV"),
            **ERRORS,
        },
    )
    def get(self, request, project_id: int):
        project = self.project
        spec = export_spec_parse(request.query_params)
        exported = export_file(project=project, spec=spec)
        response = StreamingHttpResponse(exported.chunks, content_type=exported.content_type)
        response["Content-Disposition"] = f'attachment; filename="{exported.filename}"'
        response["Cache-Control"] = "no-store"
        return response


class DataCardApi(ProjectExportApi):
    @extend_schema(
        tags=["exports"],
        summary="Data card: what the exported dataset is, how it was labeled, how consistent it is",
        description=(
            "Takes the same filters as the export. `format=md` answers Markdown (text/markdown) "
            "instead of JSON, for a README next to the exported files."
        ),
        parameters=[
            OpenApiParameter("format", str, enum=["json", "md"], default="json"),
            *FILTER_PARAMETERS,
        ],
        responses={
            (200, "application/json"): OpenApiResponse(
                OpenApiTypes.OBJECT,
                examples=[
                    OpenApiExample(
                        "street scenes",
                        value={
                            "dataset": {"name": "Street scenes", "source": "consensus"},
                            "images": {"exported": 60, "empty": 4, "not_labeled": 12},
                            "boxes": {"total": 211, "per_image": {"mean": 3.5}},
                            "agreement": {"kalpha": 0.81},
                        },
                    )
                ],
            ),
            (200, "text/markdown"): OpenApiResponse(OpenApiTypes.STR),
            **ERRORS,
        },
    )
    def get(self, request, project_id: int):
        project = self.project
        fmt = (request.query_params.get("format") or "json").lower()
        if fmt not in ("json", "md"):
            raise ExportParamError("format", f"format must be json or md; got {fmt!r}.")
        params = {k: v for k, v in request.query_params.items() if k != "format"}
        card = datacard_build(project=project, spec=export_spec_parse(params))
        if fmt == "md":
            response = HttpResponse(
                datacard_markdown(card), content_type="text/markdown; charset=utf-8"
            )
            response["Content-Disposition"] = f'attachment; filename="{project.slug}-datacard.md"'
            return response
        return Response(card)
