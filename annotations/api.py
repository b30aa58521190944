"""Annotations API: the queue, the caller's own annotation (autosave), submit, acknowledgement;
and for leads and engineers, every labeler's submitted label sets.

Thin views: parse, check the caller's role (ProjectScopedApi, or the annotation's owner), call
one service or selector, answer JSON. Errors carry a "detail" a person can act on.
"""

import math

from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
    inline_serializer,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations import selectors, services
from annotations.boxes import MAX_BOXES, BoxesInvalid
from annotations.models import Annotation, Box
from concord.exceptions import PROJECT_ERRORS
from concord.params import id_param
from concord.parsers import valid_input
from gold.queue import LabelerPaused
from projects.models import InstructionVersion, Project
from projects.permissions import Capability, ProjectScopedApi
from projects.services import instruction_acknowledge


class ActiveSecondsField(serializers.FloatField):
    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not math.isfinite(value) or not 0 <= value <= services.ACTIVE_SECONDS_MAX:
            raise serializers.ValidationError(
                f"Send the seconds spent on this image: a number from 0 to "
                f"{services.ACTIVE_SECONDS_MAX} (a day; no one spends longer on one image)."
            )
        return value


class BoxOutput(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()
    width = serializers.FloatField()
    height = serializers.FloatField()
    label_class = serializers.IntegerField(help_text="Id of one of the project's classes.")


@extend_schema_field(BoxOutput(many=True))
class BoxesField(serializers.Field):
    """Passes the parsed JSON through: annotations.boxes checks it box by box, with messages."""

    def to_internal_value(self, data):
        return data


class ImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    url = serializers.CharField(help_text="The image's pixels; members of the project only.")
    name = serializers.CharField(help_text="The file name the image was uploaded with.")
    width = serializers.IntegerField()
    height = serializers.IntegerField()


class QueueStatusOutput(serializers.Serializer):
    remaining = serializers.IntegerField(
        help_text="About how many more images the queue can give you (at most "
        f"{selectors.QUEUE_REMAINING_CAP}; your open draft not included)."
    )
    capped = serializers.BooleanField(help_text="True when there are at least that many.")


class QueueNextOutput(serializers.Serializer):
    annotation = serializers.IntegerField()
    image = ImageOutput()


class AnnotationOutput(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    image = ImageOutput()
    instruction_version = serializers.IntegerField(allow_null=True)
    active_seconds = serializers.FloatField()
    started_at = serializers.DateTimeField()
    submitted_at = serializers.DateTimeField(allow_null=True)
    editable = serializers.BooleanField(
        help_text="False once a submitted image's grace period for changes is over."
    )
    editable_until = serializers.DateTimeField(
        allow_null=True, help_text="Until when a submitted image accepts changes; null for a draft."
    )
    boxes = BoxOutput(many=True)


class AnnotationInput(serializers.Serializer):
    boxes = BoxesField(
        help_text=f"A list of up to {MAX_BOXES} boxes {{x, y, width, height, label_class}} in "
        "pixels of the image as displayed; it replaces the stored boxes."
    )
    active_seconds = ActiveSecondsField(required=False, help_text="Total seconds spent so far.")


class SubmitInput(serializers.Serializer):
    active_seconds = ActiveSecondsField(required=False)


def image_payload(image) -> dict:
    return {
        "id": image.pk,
        "url": reverse("projects:image-file", args=[image.project.slug, image.pk]),
        "name": image.original_name,
        "width": image.width,
        "height": image.height,
    }


def annotation_payload(annotation) -> dict:
    return {
        "id": annotation.pk,
        "status": annotation.status,
        "image": image_payload(annotation.image),
        "instruction_version": annotation.instruction_version.number
        if annotation.instruction_version_id
        else None,
        "active_seconds": annotation.active_seconds,
        "started_at": annotation.started_at,
        "submitted_at": annotation.submitted_at,
        "editable": services.annotation_is_editable(annotation),
        "editable_until": services.annotation_editable_until(annotation),
        "boxes": selectors.annotation_boxes(annotation=annotation),
    }


class QueueStatusApi(ProjectScopedApi):
    required_capability = Capability.LABEL

    @extend_schema(responses=QueueStatusOutput)
    def get(self, request, project_id):
        remaining = selectors.queue_remaining(project=self.project, labeler=request.user)
        return Response(
            {"remaining": remaining, "capped": remaining >= selectors.QUEUE_REMAINING_CAP}
        )


class QueueNextApi(ProjectScopedApi):
    required_capability = Capability.LABEL

    @extend_schema(
        request=None,
        responses={
            200: QueueNextOutput,
            204: OpenApiResponse(description="Nothing left for you to label in this project."),
            403: OpenApiResponse(
                description="The gold checks paused you: the detail says why and what next."
            ),
            409: OpenApiResponse(description="The current instructions are not acknowledged."),
            503: OpenApiResponse(description="Too many labelers asked at once; retry."),
        },
    )
    def post(self, request, project_id):
        project = self.project
        try:
            annotation = services.queue_next(project=project, labeler=request.user)
        except services.InstructionsNotAcknowledged as exc:
            return _instructions_conflict(exc, project)
        except LabelerPaused as exc:
            return Response(
                {"detail": str(exc), "code": "labeler_paused"}, status=status.HTTP_403_FORBIDDEN
            )
        except services.QueueBusy:
            return Response(
                {"detail": "Many labelers asked for images at once; try again in a moment."},
                status=status.HTTP_503_SERVICE_UNAVAILABLE,
                headers={"Retry-After": "1"},
            )
        if annotation is None:
            return Response(
                {"detail": "Nothing left for you to label in this project. Thank you!"},
                status=status.HTTP_204_NO_CONTENT,
            )
        image = annotation.image
        image.project = project
        return Response(
            QueueNextOutput({"annotation": annotation.pk, "image": image_payload(image)}).data
        )


class AnnotationDetailApi(APIView):
    """The caller's own annotation. Anyone else's answers 404, whatever their role."""

    @extend_schema(responses=AnnotationOutput)
    def get(self, request, annotation_id):
        annotation = selectors.annotation_of_owner(annotation_id=annotation_id, user=request.user)
        return Response(AnnotationOutput(annotation_payload(annotation)).data)

    @extend_schema(
        request=AnnotationInput,
        responses={
            200: AnnotationOutput,
            409: OpenApiResponse(description="Submitted too long ago to be changed."),
        },
    )
    def put(self, request, annotation_id):
        annotation = selectors.annotation_of_owner(annotation_id=annotation_id, user=request.user)
        data = valid_input(AnnotationInput, request.data)
        try:
            annotation = services.annotation_boxes_replace(
                annotation=annotation,
                boxes=data["boxes"],
                active_seconds=data.get("active_seconds"),
            )
        except BoxesInvalid as exc:
            return Response({"detail": exc.message, "box": exc.index}, status=400)
        except services.AnnotationLocked as exc:
            return Response({"detail": str(exc), "code": "annotation_locked"}, status=409)
        return Response(AnnotationOutput(annotation_payload(annotation)).data)


class AnnotationSubmitApi(APIView):
    @extend_schema(
        request=SubmitInput,
        responses={
            200: AnnotationOutput,
            409: OpenApiResponse(
                description="Newer instructions were published and are not acknowledged yet."
            ),
        },
    )
    def post(self, request, annotation_id):
        annotation = selectors.annotation_of_owner(annotation_id=annotation_id, user=request.user)
        data = valid_input(SubmitInput, request.data)
        try:
            annotation = services.annotation_submit(
                annotation=annotation, active_seconds=data.get("active_seconds")
            )
        except services.InstructionsNotAcknowledged as exc:
            return _instructions_conflict(exc, annotation.image.project)
        return Response(AnnotationOutput(annotation_payload(annotation)).data)


class InstructionAcknowledgeApi(ProjectScopedApi):
    required_capability = Capability.VIEW

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "AcknowledgementOutput",
            {
                "instructions": serializers.IntegerField(),
                "acknowledged_at": serializers.DateTimeField(),
            },
        ),
    )
    def post(self, request, project_id, number):
        version = get_object_or_404(InstructionVersion, project=self.project, number=number)
        acknowledgement = instruction_acknowledge(user=request.user, version=version)
        return Response(
            {"instructions": version.number, "acknowledged_at": acknowledgement.acknowledged_at}
        )


def _instructions_conflict(exc: services.InstructionsNotAcknowledged, project: Project) -> Response:
    return Response(
        {
            "detail": str(exc),
            "code": "instructions_not_acknowledged",
            "instructions": exc.version.number,
            "project_url": project.get_absolute_url(),
        },
        status=status.HTTP_409_CONFLICT,
    )


class RawBoxOutput(serializers.ModelSerializer):
    class Meta:
        model = Box
        fields = ["id", "label_class", "x", "y", "width", "height", "score"]
        read_only_fields = fields


class RawAnnotationOutput(serializers.ModelSerializer):
    labeler = serializers.CharField(source="labeler.username", read_only=True)
    instruction_version = serializers.IntegerField(
        source="instruction_version.number", read_only=True, allow_null=True
    )
    boxes = RawBoxOutput(many=True, read_only=True)

    class Meta:
        model = Annotation
        fields = [
            "id", "image", "labeler", "kind", "status", "instruction_version",
            "submitted_at", "active_seconds", "boxes",
        ]  # fmt: skip
        read_only_fields = fields


@extend_schema(
    tags=["images"],
    summary="Every labeler's submitted boxes (lead, engineer; never labelers)",
    parameters=[
        OpenApiParameter("image", int, description="Only this image's label sets."),
        OpenApiParameter("labeler", str, description="Only this labeler's (username)."),
        OpenApiParameter(
            "kind",
            str,
            enum=["label", "adjudication", "model"],
            description="Labelers' sets, the lead's, or a model's imported predictions (boxes "
            "with a score).",
        ),
    ],
    responses={200: RawAnnotationOutput(many=True), **PROJECT_ERRORS},
)
class AnnotationListApi(ProjectScopedApi, generics.ListAPIView):
    serializer_class = RawAnnotationOutput
    required_capability = Capability.READ_RESULTS

    def get_queryset(self):
        params = self.request.query_params
        annotations = Annotation.objects.filter(
            image__project=self.project, status=Annotation.Status.SUBMITTED
        )
        image = id_param(params, "image")
        if image is not None:
            annotations = annotations.filter(image_id=image)
        if params.get("labeler"):
            annotations = annotations.filter(labeler__username=params["labeler"])
        kind = params.get("kind")
        if kind not in (None, ""):
            if kind not in Annotation.Kind.values:
                raise ValidationError({"kind": ["kind must be label, adjudication or model."]})
            annotations = annotations.filter(kind=kind)
        return (
            annotations.select_related("labeler", "instruction_version")
            .prefetch_related(Prefetch("boxes", queryset=Box.objects.order_by("id")))
            .order_by("image_id", "labeler__username")
        )
