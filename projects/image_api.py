"""Images API: a project's images with their labeling state, and uploads (files or zips).

Thin views: the caller's role is checked as a ProjectScopedApi (outsiders 404, members without
the capability 403); uploads go through projects.ingest, file by file.
"""

from django.db.models import Count, F, IntegerField, OuterRef, Subquery
from django.db.models.functions import Coalesce
from django.urls import reverse
from drf_spectacular.utils import OpenApiParameter, extend_schema, extend_schema_view
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from annotations.selectors import submitted_label_sets_count
from concord.exceptions import PROJECT_READ_ERRORS
from projects.ingest import images_ingest
from projects.models import Image
from projects.permissions import Capability, ProjectScopedApi, read_then_write
from quality.models import Flag


class ProjectImageOutput(serializers.ModelSerializer):
    url = serializers.SerializerMethodField()
    label_sets = serializers.IntegerField(read_only=True, help_text="Submitted label sets.")
    complete = serializers.SerializerMethodField()
    agreement = serializers.FloatField(source="agreement_score", read_only=True, allow_null=True)
    open_flags = serializers.IntegerField(read_only=True)

    class Meta:
        model = Image
        fields = [
            "id", "original_name", "width", "height", "uploaded_at", "url",
            "label_sets", "complete", "agreement", "open_flags",
        ]  # fmt: skip
        read_only_fields = fields

    def get_url(self, image) -> str:
        return reverse("projects:image-file", args=[self.context["project"].slug, image.pk])

    def get_complete(self, image) -> bool:
        return image.label_sets >= self.context["project"].labelers_per_image


class ImageUploadInput(serializers.Serializer):
    files = serializers.ListField(
        child=serializers.FileField(), help_text="Image files (JPEG, PNG, WebP) or zips of them."
    )


class IngestResultOutput(serializers.Serializer):
    name = serializers.CharField()
    status = serializers.ChoiceField(choices=["added", "duplicate", "refused"])
    reason = serializers.CharField()
    image_id = serializers.IntegerField(allow_null=True)


class ImageUploadOutput(serializers.Serializer):
    added = serializers.IntegerField()
    duplicate = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = IngestResultOutput(many=True)
    detail = serializers.CharField(required=False, help_text="Why nothing was added (400 only).")
    errors = serializers.DictField(required=False, help_text="Per-field messages (400 only).")


@extend_schema_view(
    get=extend_schema(
        tags=["images"],
        summary="The project's images with their labeling state (lead, engineer)",
        parameters=[
            OpenApiParameter(
                "complete", bool, description="Only complete (1) or incomplete (0) images."
            ),
        ],
        responses={200: ProjectImageOutput(many=True), **PROJECT_READ_ERRORS},
    ),
    post=extend_schema(
        tags=["images"],
        summary="Upload images: files or zips, multipart field `files` (lead)",
        description=(
            "Each file is checked on its own. 201 when every file was added; 200 when some were "
            "added and others were duplicates or refused, or all were duplicates (each result "
            "says why); 400 when no file was sent or none could be added because files were "
            "refused (the results and `detail` say why)."
        ),
        request={"multipart/form-data": ImageUploadInput},
        responses={201: ImageUploadOutput, 200: ImageUploadOutput, 400: ImageUploadOutput},
    ),
)
class ImageListApi(ProjectScopedApi, generics.ListCreateAPIView):
    serializer_class = ProjectImageOutput
    required_capability = read_then_write(Capability.READ_RESULTS)
    parser_classes = [MultiPartParser, FormParser]

    def get_serializer_context(self):
        return {**super().get_serializer_context(), "project": self.project}

    def get_queryset(self):
        project = self.project
        open_flags = (
            Flag.objects.filter(image=OuterRef("pk"), status=Flag.Status.OPEN)
            .order_by()
            .values("image")
            .annotate(n=Count("pk"))
            .values("n")
        )
        images = Image.objects.filter(project=project).annotate(
            label_sets=submitted_label_sets_count(),
            open_flags=Coalesce(Subquery(open_flags, output_field=IntegerField()), 0),
            agreement_score=F("agreement__score"),
        )
        complete = self.request.query_params.get("complete")
        if complete in ("1", "true"):
            images = images.filter(label_sets__gte=project.labelers_per_image)
        elif complete in ("0", "false"):
            images = images.filter(label_sets__lt=project.labelers_per_image)
        elif complete not in (None, ""):
            raise ValidationError({"complete": ["Use complete=1 or complete=0."]})
        return images.order_by("pk")

    def create(self, request, *args, **kwargs):
        files = request.FILES.getlist("files")
        if not files:
            # The documented 400 shape (ImageUploadOutput), as when every file is refused.
            message = "Send one or more image files or zips in the multipart field 'files'."
            body = {"added": 0, "duplicate": 0, "refused": 0, "results": []}
            body.update(detail=f"files: {message}", errors={"files": [message]})
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        results = images_ingest(project=self.project, files=[(f.name, f) for f in files])
        counts = {s: sum(r.status == s for r in results) for s in ("added", "duplicate", "refused")}
        body = {
            **counts,
            "results": [
                {"name": r.name, "status": r.status, "reason": r.reason, "image_id": r.image_id}
                for r in results
            ],
        }
        if counts["added"] == len(results) and results:
            return Response(body, status=status.HTTP_201_CREATED)
        if counts["added"] == 0 and counts["refused"]:
            # Nothing stored and something was wrong with the files: the per-file reasons say what.
            body["detail"] = "No image was added: " + "; ".join(
                f"{r.name}: {r.reason}" for r in results if r.status == "refused"
            )
            return Response(body, status=status.HTTP_400_BAD_REQUEST)
        return Response(body, status=status.HTTP_200_OK)
