"""Import API: start an import of labels (or a model's predictions); list the project's imports.

POST /api/projects/{id}/imports/ answers 202 with {"run": id}: the import runs on a worker; its
progress and, once done, its per-file report are at /api/runs/{id}/.
"""

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from concord.exceptions import ApiErrorOutput
from concord.parsers import StrictJSONParser, valid_input
from imports.classes import UNKNOWN_CHOICES
from imports.enqueue import import_start
from imports.gold import TARGETS
from imports.runs import ImportRefused, import_options_clean
from imports.sources import FORMATS
from projects.permissions import Capability, ProjectScopedApi
from quality.api_runs import RunOutput
from quality.models import AgreementRun


class ImportInput(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(),
        required=False,
        default=list,
        help_text="Label files, zips (labels and images, or one dataset folder per labeler) and "
        "image files.",
    )
    format = serializers.ChoiceField(
        choices=list(FORMATS),
        help_text="; ".join(f"{k}: {v}" for k, v in FORMATS.items()),
    )
    labeler = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=150,
        default="",
        help_text="Who made the labels (a labeler of the project, or a name for an import-only "
        "labeler; a model's name for predictions). Needed for single-rater formats unless "
        "several files or folders are sent, each named after its labeler.",
    )
    unknown_classes = serializers.ChoiceField(
        choices=list(UNKNOWN_CHOICES),
        default="refuse",
        help_text="Classes the project does not have: refuse the file, add them, or ignore "
        "their boxes.",
    )
    score_threshold = serializers.FloatField(
        required=False,
        allow_null=True,
        default=None,
        min_value=0,
        max_value=1,
        help_text="predictions only (default 0.5): detections below this score are left out.",
    )
    voc_coordinates = serializers.ChoiceField(
        choices=["one-based", "zero-based"],
        default="one-based",
        help_text="voc only: one-based as the devkit, supervision and Concord write; zero-based "
        "as globox and datumaro write.",
    )
    target = serializers.ChoiceField(
        choices=list(TARGETS),
        default="labels",
        help_text="labels: a rater's label sets. gold: the true boxes of the images the file names "
        "(coco, yolo or voc): each becomes a gold image with the file's boxes; a gold image "
        "already there gets them as its new version and its answers are re-scored.",
    )
    folder = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        help_text="A folder on the server to read too (under IMPORT_FOLDER_ROOT).",
    )


class ImportOutput(serializers.Serializer):
    run = serializers.IntegerField(help_text="Follow the import at /api/runs/{id}/.")


class ImportListApi(ProjectScopedApi, generics.ListCreateAPIView):
    """The project's imports, newest first (leads); POST starts one."""

    required_capability = Capability.MANAGE
    parser_classes = [MultiPartParser, FormParser, StrictJSONParser]
    serializer_class = RunOutput

    def get_queryset(self):
        return (
            AgreementRun.objects.filter(project=self.project, kind=AgreementRun.Kind.IMPORT)
            .select_related("requested_by")
            .order_by("-created_at", "-id")
        )

    @extend_schema(
        tags=["imports"],
        summary="Import labels or a model's predictions (lead)",
        description=(
            "Images in the upload (or zip) are added as uploads are, or matched by content when "
            "the project has them; labels find their images by file name. Each label file (a "
            "YOLO or VOC dataset folder counts as one) is imported all or nothing; label sets "
            "a rater already has on an image are skipped, so importing again adds nothing twice. "
            "An image the file lists with no box is labeled as holding nothing; an image it does "
            "not list is not labeled. Imported labels are submitted label sets: assessed by a "
            "recompute (its run id in the report), flagged, reported and exported like any. "
            "A model's predictions are compared with the consensus (flags of kind "
            "model_disagrees) and never count as a labeler."
        ),
        request={"multipart/form-data": ImportInput, "application/json": ImportInput},
        responses={
            202: ImportOutput,
            400: OpenApiResponse(ApiErrorOutput, description="A field is not valid."),
        },
        examples=[
            OpenApiExample(
                "two vendors, one raw COCO file",
                value={"format": "coco_raw", "unknown_classes": "add"},
                request_only=True,
            )
        ],
    )
    def post(self, request, project_id):
        values = valid_input(ImportInput, request.data)
        try:
            options = import_options_clean(
                fmt=values["format"],
                labeler=values["labeler"],
                unknown_classes=values["unknown_classes"],
                score_threshold=values["score_threshold"],
                voc_coordinates=values["voc_coordinates"],
                folder=values["folder"],
                target=values["target"],
            )
            run = import_start(
                project=self.project,
                uploads=[(f.name, f) for f in request.FILES.getlist("files")],
                options=options,
                requested_by=request.user,
            )
        except ImportRefused as exc:
            return Response({"detail": str(exc)}, status=status.HTTP_400_BAD_REQUEST)
        return Response(ImportOutput({"run": run.pk}).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(tags=["imports"], summary="The project's imports with their reports (lead)")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)
