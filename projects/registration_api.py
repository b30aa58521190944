"""API of registration: images already in the bucket taken in place (projects.registration),
and the objects of a registration run with what became of each."""

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import APIException, ValidationError
from rest_framework.response import Response

from concord.exceptions import PROJECT_ERRORS, PROJECT_READ_ERRORS, ApiErrorOutput
from projects.enqueue import registration_enqueue
from projects.models import Project, RegistrationObject
from projects.permissions import Capability, ProjectScopedApi
from projects.registration import BucketUnavailable, RegistrationRefused
from quality.models import AgreementRun


class RegisterInput(serializers.Serializer):
    prefix = serializers.CharField(
        max_length=1024,
        allow_blank=True,
        help_text="Key prefix in the bucket (AWS_STORAGE_BUCKET_NAME), e.g. datasets/cars/. "
        "Every .jpg, .jpeg, .png and .webp object under it is registered; other objects are "
        "skipped.",
    )
    manifest = serializers.CharField(
        max_length=1024,
        allow_blank=True,
        required=False,
        default="",
        help_text="Optional key of a CSV or JSON Lines object in the bucket naming the objects "
        "to register, relative to the prefix (a key, path, file, file_name, filename or image "
        "column or field, else the first column). Only those objects are registered.",
    )


class RegisterOutput(serializers.Serializer):
    run = serializers.IntegerField(help_text="Id of the run; follow it at /api/runs/{id}/.")


class Unavailable(APIException):
    status_code = status.HTTP_503_SERVICE_UNAVAILABLE


class RegisterApi(ProjectScopedApi):
    """Register images already in the bucket, without copying them (leads)."""

    required_capability = Capability.MANAGE

    @extend_schema(
        tags=["images"],
        summary="Register images already in the bucket (lead)",
        description="Answers 202 with a run: the objects are listed and examined by the "
        "workers (size, format and dimensions from a ranged read, SHA-256, perceptual hash), "
        "refusing what an upload refuses. Progress and the counts of added, duplicate, refused "
        "and skipped objects at /api/runs/{id}/; each object at /api/runs/{id}/objects/. "
        "Registering the same prefix again takes only what the project does not have yet. "
        "Needs MEDIA_STORAGE=s3.",
        request=RegisterInput,
        responses={
            202: RegisterOutput,
            **PROJECT_ERRORS,
            503: OpenApiResponse(ApiErrorOutput, description="The bucket cannot be read."),
        },
        examples=[
            OpenApiExample(
                "a prefix and a manifest",
                value={"prefix": "datasets/cars/", "manifest": "datasets/cars/train.csv"},
                request_only=True,
            )
        ],
    )
    def post(self, request, project_id):
        data = RegisterInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            run = registration_enqueue(
                project=self.project,
                requested_by=request.user,
                prefix=data.validated_data["prefix"],
                manifest=data.validated_data["manifest"],
            )
        except BucketUnavailable as unavailable:
            raise Unavailable(str(unavailable)) from None
        except RegistrationRefused as refused:
            raise ValidationError({"non_field_errors": [str(refused)]}) from None
        return Response(RegisterOutput({"run": run.pk}).data, status=status.HTTP_202_ACCEPTED)


class RegistrationObjectOutput(serializers.ModelSerializer):
    image = serializers.PrimaryKeyRelatedField(read_only=True, allow_null=True)

    class Meta:
        model = RegistrationObject
        fields = ["id", "key", "name", "size", "status", "reason", "image"]
        read_only_fields = fields


@extend_schema(
    tags=["images"],
    summary="The objects of a registration run and what became of each",
    parameters=[
        OpenApiParameter(
            "status",
            str,
            enum=RegistrationObject.Status.values,
            description="Only objects in this state (refused ones say why in reason).",
        )
    ],
    responses={200: RegistrationObjectOutput(many=True), **PROJECT_READ_ERRORS},
)
class RegistrationObjectListApi(ProjectScopedApi, generics.ListAPIView):
    serializer_class = RegistrationObjectOutput
    required_capability = Capability.READ_RESULTS
    run: AgreementRun

    def get_project(self) -> Project:
        # A recompute has no objects: its list is empty.
        self.run = generics.get_object_or_404(
            AgreementRun.objects.select_related("project"), pk=self.kwargs["run_id"]
        )
        return self.run.project

    def get_queryset(self):
        objects = RegistrationObject.objects.filter(run=self.run).order_by("pk")
        wanted = self.request.query_params.get("status")
        if wanted:
            if wanted not in RegistrationObject.Status.values:
                choices = ", ".join(RegistrationObject.Status.values)
                raise ValidationError({"status": [f"Use one of {choices}."]})
            objects = objects.filter(status=wanted)
        return objects
