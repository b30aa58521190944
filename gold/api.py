"""Gold API (leads and engineers read, leads write; labelers never reach any of it):

    GET|POST /api/projects/{id}/gold/                 gold images; make one gold / new boxes
    GET|PATCH /api/projects/{id}/gold/policy/         rate, qualification, thresholds, feedback
    GET  /api/projects/{id}/labelers/                 per labeler: peer agreement, gold score
    POST /api/projects/{id}/labelers/{user_id}/resume/

Thin views: the project is loaded once for the role check, then one selector or service.
"""

from django.contrib.auth import get_user_model
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiResponse,
    extend_schema,
    extend_schema_field,
)
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from annotations.boxes import BoxesInvalid
from annotations.selectors import annotation_of_owner
from concord.exceptions import PROJECT_ERRORS as ERRORS
from concord.exceptions import PROJECT_READ_ERRORS as READ_ERRORS
from concord.exceptions import ApiErrorOutput
from concord.params import ID_MAX
from gold import selectors, services
from gold.feedback import answer_feedback
from gold.models import GoldImage, GoldPolicy
from gold.services import GoldInvalid
from projects.models import Image, Membership
from projects.permissions import Capability, ProjectScopedApi, read_then_write
from quality.selectors.report import labeler_table


class GoldBoxOutput(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()
    width = serializers.FloatField()
    height = serializers.FloatField()
    label_class = serializers.IntegerField()


class GoldImageOutput(serializers.Serializer):
    id = serializers.IntegerField()
    image = serializers.IntegerField(source="image_id")
    image_name = serializers.CharField(source="image.original_name")
    source = serializers.ChoiceField(choices=GoldImage.Source.choices)
    version = serializers.IntegerField(help_text="Goes up each time the gold boxes change.")
    instruction_version = serializers.SerializerMethodField(
        help_text="Number of the instructions the gold boxes follow."
    )
    active = serializers.BooleanField(help_text="Served to labelers.")
    boxes = serializers.SerializerMethodField()
    answers = serializers.IntegerField(source="answer_count")
    mean_score = serializers.FloatField(
        allow_null=True, help_text="Gold score of all answers on it together; null before any."
    )
    created_by = serializers.CharField(source="created_by.username")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()

    def get_instruction_version(self, gold) -> int | None:
        return gold.instruction_version.number if gold.instruction_version_id else None

    @extend_schema_field(GoldBoxOutput(many=True))
    def get_boxes(self, gold):
        return selectors.gold_boxes(gold=gold)


@extend_schema_field(GoldBoxOutput(many=True))
class GoldBoxesField(serializers.Field):
    """Passed through: annotations.boxes checks each box with a message naming it."""

    def to_internal_value(self, data):
        return data


class GoldImageInput(serializers.Serializer):
    image = serializers.IntegerField(min_value=1, max_value=ID_MAX)
    source = serializers.ChoiceField(
        choices=[c for c in GoldImage.Source.choices if c[0] != GoldImage.Source.IMPORT],
        required=False,
        help_text='Where the true boxes come from; "boxes" (the default when boxes are sent) '
        "takes them from the request. Gold from a COCO, YOLO or VOC file: POST "
        '/api/projects/{id}/imports/ with target "gold".',
    )
    boxes = GoldBoxesField(required=False)
    active = serializers.BooleanField(required=False, help_text="false: stop serving it.")

    def validate(self, data):
        if "source" not in data and "boxes" not in data and "active" not in data:
            raise serializers.ValidationError(
                'Send "source" ("adjudication" or "consensus") or the true "boxes".'
            )
        if data.get("source", GoldImage.Source.BOXES) == GoldImage.Source.BOXES:
            if "boxes" not in data and "source" in data:
                raise serializers.ValidationError('Source "boxes" needs the "boxes".')
        elif "boxes" in data:
            raise serializers.ValidationError(
                f'Send either "boxes" or source "{data["source"]}", not both.'
            )
        return data


class GoldListApi(ProjectScopedApi, generics.ListAPIView):
    required_capability = read_then_write(Capability.READ_RESULTS)
    serializer_class = GoldImageOutput

    def get_queryset(self):
        return selectors.gold_images(project=self.project)

    @extend_schema(
        tags=["gold"],
        summary="The project's gold images with their true boxes (lead, engineer)",
        responses={200: GoldImageOutput(many=True), **READ_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        tags=["gold"],
        summary="Make an image gold, or give a gold image new true boxes (lead)",
        description="New boxes raise the gold's version and re-score every answer on it. "
        "Labelers are never told which images are gold.",
        request=GoldImageInput,
        responses={201: GoldImageOutput, 200: GoldImageOutput, **ERRORS},
        examples=[
            OpenApiExample("from the adjudication", {"image": 12, "source": "adjudication"}),
            OpenApiExample(
                "given boxes",
                {
                    "image": 12,
                    "boxes": [{"x": 10, "y": 20, "width": 50, "height": 40, "label_class": 1}],
                },
            ),
        ],
    )
    def post(self, request, project_id):
        project = self.project
        data = _valid(GoldImageInput, request.data)
        image = Image.objects.filter(pk=data["image"], project=project).first()
        if image is None:
            return _error(f"No image {data['image']} in this project.", status.HTTP_404_NOT_FOUND)
        existing = GoldImage.objects.filter(image=image).first()
        try:
            if existing is not None and "source" not in data and "boxes" not in data:
                gold = services.gold_image_activate(gold=existing, active=data["active"])
            else:
                gold = services.gold_image_save(
                    project=project,
                    image=image,
                    user=request.user,
                    source=data.get("source", GoldImage.Source.BOXES),
                    boxes=data.get("boxes"),
                    active=data.get("active"),
                )
        except GoldInvalid as exc:
            return _error(exc.message)
        except BoxesInvalid as exc:
            return Response({"detail": exc.message, "box": exc.index}, status=400)
        (gold,) = [g for g in selectors.gold_images(project=project) if g.pk == gold.pk]
        code = status.HTTP_200_OK if existing is not None else status.HTTP_201_CREATED
        return Response(GoldImageOutput(gold).data, status=code)


class GoldPolicySerializer(serializers.ModelSerializer):
    class Meta:
        model = GoldPolicy
        fields = list(services.POLICY_FIELDS)


class GoldPolicyApi(ProjectScopedApi):
    required_capability = read_then_write(Capability.READ_RESULTS)

    @extend_schema(
        tags=["gold"],
        summary="How gold is mixed in and judged",
        responses={200: GoldPolicySerializer, **READ_ERRORS},
    )
    def get(self, request, project_id):
        return Response(GoldPolicySerializer(selectors.policy_of(self.project)).data)

    @extend_schema(
        tags=["gold"],
        summary="Change how gold is mixed in and judged (lead)",
        request=GoldPolicySerializer(partial=True),
        responses={200: GoldPolicySerializer, **ERRORS},
        examples=[OpenApiExample("10% gold, 5 to qualify", {"rate": 0.1, "qualification_size": 5})],
    )
    def patch(self, request, project_id):
        serializer = GoldPolicySerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        try:
            policy = services.gold_policy_save(project=self.project, **serializer.validated_data)
        except GoldInvalid as exc:
            return _error(exc.message)
        return Response(GoldPolicySerializer(policy).data)


class LabelerOutput(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    images_submitted = serializers.IntegerField()
    agreement_with_peers = serializers.FloatField(allow_null=True)
    agreement_with_adjudicated = serializers.FloatField(allow_null=True)
    vitality = serializers.FloatField(allow_null=True)
    flags = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Flags where they were in the minority, by kind (their three commonest).",
    )
    flags_deviating = serializers.IntegerField()
    flags_without_majority = serializers.IntegerField()
    gold = serializers.DictField(
        allow_null=True,
        help_text='Null before their first gold answer. "score" (TP / (TP + FP + FN) against '
        'the gold boxes) with "ci" at "confidence"; precision, recall, class_accuracy, '
        'mean_iou, kalpha as {"value", "ci", "n"}; "per_class" by gold class id.',
    )
    paused = serializers.BooleanField(help_text="The gold checks stopped them; a lead resumes.")
    state = serializers.ChoiceField(choices=["qualifying", "active", "paused"])


class LabelerListApi(ProjectScopedApi, generics.ListAPIView):
    required_capability = Capability.READ_RESULTS
    serializer_class = LabelerOutput

    def get_queryset(self):
        return [_labeler_row(row) for row in labeler_table(project=self.project)]

    @extend_schema(
        tags=["gold"],
        summary="Per labeler: peer agreement, gold score with its interval, paused, flags",
        responses={200: LabelerOutput(many=True), **READ_ERRORS},
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


def _labeler_row(row: dict) -> dict:
    gold = row["gold"]
    return {
        "id": row["id"],
        "username": row["username"],
        "images_submitted": row["images_submitted"],
        "agreement_with_peers": row["agreement_with_peers"],
        "agreement_with_adjudicated": row["agreement_with_adjudicated"],
        "vitality": row["vitality"],
        "flags": {k["kind"]: k["count"] for k in row["top_flag_kinds"]},
        "flags_deviating": row["flags_deviating"],
        "flags_without_majority": row["flags_without_majority"],
        "gold": gold if gold and gold["images"] else None,
        "paused": bool(gold and gold["paused"]),
        "state": gold["state"] if gold else "active",
    }


class LabelerResumeApi(ProjectScopedApi):
    required_capability = Capability.MANAGE

    @extend_schema(
        tags=["gold"],
        summary="Let a labeler the gold checks paused continue (lead)",
        request=None,
        responses={200: OpenApiTypes.OBJECT, **ERRORS},
    )
    def post(self, request, project_id, user_id):
        project = self.project
        member = Membership.objects.filter(
            project=project, user_id=user_id, role=Membership.Role.LABELER
        ).first()
        if member is None:
            return _error("No labeler with this id in the project.", status.HTTP_404_NOT_FOUND)
        labeler = get_user_model().objects.get(pk=user_id)
        try:
            standing = services.labeler_resume(project=project, labeler=labeler, user=request.user)
        except GoldInvalid as exc:
            return _error(exc.message)
        return Response(
            {"labeler": labeler.pk, "state": standing.state, "resumed_at": standing.resumed_at}
        )


def _error(message: str, code: int = status.HTTP_400_BAD_REQUEST) -> Response:
    return Response({"detail": message}, status=code)


def _valid(serializer_class, data) -> dict:
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class FeedbackApi(APIView):
    """The caller's own answer: the gold's feedback on it, or 404 like any image without one."""

    @extend_schema(
        tags=["labeling"],
        summary="Feedback on an image you just submitted, when the project gives it",
        responses={200: OpenApiTypes.OBJECT, 404: OpenApiResponse(ApiErrorOutput)},
    )
    def get(self, request, annotation_id):
        annotation = annotation_of_owner(annotation_id=annotation_id, user=request.user)
        data = answer_feedback(annotation=annotation)
        image = annotation.image
        return Response(
            {
                "page": reverse("gold:feedback", args=[image.project.slug, annotation.pk]),
                "correct": data["correct"],
                "gold_boxes": data["gold_boxes"],
                "issues": data["issues"],
                "expected": data["expected"],
                "yours": data["yours"],
            }
        )
