"""Projects API: projects, classes, instructions and members (images: projects.image_api).

Thin views: each checks the caller's role as a ProjectScopedApi (outsiders 404, members without
the capability 403), then calls one service or selector. Errors are JSON with a
`detail` (concord.exceptions).
"""

from django.contrib.auth import get_user_model
from drf_spectacular.utils import (
    OpenApiExample,
    extend_schema,
    extend_schema_view,
)
from rest_framework import generics, serializers, status
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from concord.exceptions import PROJECT_ERRORS, PROJECT_READ_ERRORS
from concord.parsers import valid_input
from projects.models import InstructionVersion, LabelClass, Membership, Project
from projects.permissions import (
    Capability,
    ProjectScopedApi,
    can_create_projects,
    projects_visible_to,
    read_then_write,
    role_of,
)
from projects.services import (
    instruction_version_publish,
    label_class_save,
    membership_set,
    project_create,
    project_update,
)

User = get_user_model()


# -- projects ----------------------------------------------------------------------------------


class ProjectOutput(serializers.ModelSerializer):
    role = serializers.SerializerMethodField()

    class Meta:
        model = Project
        fields = [
            "id",
            "name",
            "slug",
            "description",
            "labelers_per_image",
            "match_iou",
            "low_iou",
            "archived",
            "created_at",
            "role",
        ]
        read_only_fields = fields

    def get_role(self, project) -> str | None:
        return role_of(self.context["request"].user, project)


class ProjectCreateInput(serializers.Serializer):
    name = serializers.CharField(max_length=200)
    description = serializers.CharField(required=False, allow_blank=True, default="")
    labelers_per_image = serializers.IntegerField(min_value=2, max_value=11, default=3)
    instructions = serializers.CharField(
        required=False, allow_blank=True, default="", help_text="Markdown; becomes version 1."
    )


class ProjectPatchInput(serializers.Serializer):
    name = serializers.CharField(max_length=200, required=False)
    description = serializers.CharField(required=False, allow_blank=True)
    archived = serializers.BooleanField(required=False)
    labelers_per_image = serializers.IntegerField(min_value=2, max_value=11, required=False)
    match_iou = serializers.FloatField(min_value=0.05, max_value=0.95, required=False)
    low_iou = serializers.FloatField(min_value=0.05, max_value=0.99, required=False)


@extend_schema_view(
    get=extend_schema(tags=["projects"], summary="The projects where you have a role"),
    post=extend_schema(
        tags=["projects"],
        summary="Create a project (you become its lead)",
        request=ProjectCreateInput,
        responses={201: ProjectOutput, **PROJECT_ERRORS},
        examples=[
            OpenApiExample(
                "new project",
                value={
                    "name": "Street scenes",
                    "labelers_per_image": 3,
                    "instructions": "Box every car.",
                },
                request_only=True,
            )
        ],
    ),
)
class ProjectListApi(generics.ListCreateAPIView):
    serializer_class = ProjectOutput

    def get_queryset(self):
        return projects_visible_to(self.request.user).order_by("name", "id")

    def create(self, request, *args, **kwargs):
        if not can_create_projects(request.user):
            raise PermissionDenied(
                "Your account cannot create projects; ask an administrator for the "
                "'Can add project' permission."
            )
        data = valid_input(ProjectCreateInput, request.data)
        project = project_create(creator=request.user, **data)
        return Response(
            ProjectOutput(project, context={"request": request}).data,
            status=status.HTTP_201_CREATED,
        )


@extend_schema_view(
    get=extend_schema(
        tags=["projects"],
        summary="One project",
        responses={200: ProjectOutput, **PROJECT_READ_ERRORS},
    ),
    patch=extend_schema(
        tags=["projects"],
        summary="Change a project's name, description, overlap or thresholds (lead)",
        description="Changing match_iou or low_iou starts an agreement recompute.",
        request=ProjectPatchInput,
        responses={200: ProjectOutput, **PROJECT_ERRORS},
        examples=[
            OpenApiExample(
                "thresholds", value={"match_iou": 0.5, "low_iou": 0.8}, request_only=True
            )
        ],
    ),
)
class ProjectDetailApi(ProjectScopedApi, generics.RetrieveUpdateAPIView):
    serializer_class = ProjectOutput
    required_capability = read_then_write(Capability.VIEW)
    http_method_names = ["get", "patch", "head", "options"]

    def get_object(self):
        return self.project

    def partial_update(self, request, *args, **kwargs):
        data = valid_input(ProjectPatchInput, request.data)
        project = project_update(project=self.project, user=request.user, **data)
        return Response(ProjectOutput(project, context={"request": request}).data)


# -- classes -----------------------------------------------------------------------------------


class LabelClassOutput(serializers.ModelSerializer):
    class Meta:
        model = LabelClass
        fields = ["id", "name", "color", "hotkey", "guidance", "order"]
        read_only_fields = fields


class LabelClassInput(serializers.Serializer):
    name = serializers.CharField(max_length=100)
    color = serializers.RegexField(
        r"^#[0-9a-fA-F]{6}$",
        required=False,
        help_text="Default: the first colour-blind-safe palette colour the project does not use.",
    )
    hotkey = serializers.CharField(max_length=1, required=False, allow_blank=True, default="")
    guidance = serializers.CharField(required=False, allow_blank=True, default="")


@extend_schema_view(
    get=extend_schema(tags=["projects"], summary="The project's label classes, in order"),
    post=extend_schema(
        tags=["projects"],
        summary="Add a label class (lead)",
        request=LabelClassInput,
        responses={201: LabelClassOutput, **PROJECT_ERRORS},
        examples=[
            OpenApiExample(
                "car", value={"name": "car", "color": "#0072b2", "hotkey": "1"}, request_only=True
            )
        ],
    ),
)
class LabelClassListApi(ProjectScopedApi, generics.ListCreateAPIView):
    serializer_class = LabelClassOutput
    required_capability = read_then_write(Capability.VIEW)
    pagination_class = None

    def get_queryset(self):
        return LabelClass.objects.filter(project=self.project).order_by("order", "id")

    def create(self, request, *args, **kwargs):
        data = valid_input(LabelClassInput, request.data)
        saved = label_class_save(project=self.project, **data)
        return Response(LabelClassOutput(saved).data, status=status.HTTP_201_CREATED)


# -- instructions ------------------------------------------------------------------------------


class InstructionOutput(serializers.ModelSerializer):
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = InstructionVersion
        fields = ["number", "body", "summary", "author", "created_at"]
        read_only_fields = fields


class InstructionInput(serializers.Serializer):
    body = serializers.CharField(help_text="The whole instructions, in Markdown.")
    summary = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=500,
        help_text="What changed and why.",
    )


@extend_schema_view(
    get=extend_schema(tags=["projects"], summary="Every instruction version, newest first"),
    post=extend_schema(
        tags=["projects"],
        summary="Publish the next instruction version (lead)",
        description="Labelers must acknowledge it before they take their next image.",
        request=InstructionInput,
        responses={201: InstructionOutput, **PROJECT_ERRORS},
        examples=[
            OpenApiExample(
                "clarify",
                value={
                    "body": "Box every car, including parked ones.",
                    "summary": "Parked cars count.",
                },
                request_only=True,
            )
        ],
    ),
)
class InstructionListApi(ProjectScopedApi, generics.ListCreateAPIView):
    serializer_class = InstructionOutput
    required_capability = read_then_write(Capability.VIEW)

    def get_queryset(self):
        return (
            InstructionVersion.objects.filter(project=self.project)
            .select_related("author")
            .order_by("-number")
        )

    def create(self, request, *args, **kwargs):
        data = valid_input(InstructionInput, request.data)
        version = instruction_version_publish(project=self.project, author=request.user, **data)
        return Response(InstructionOutput(version).data, status=status.HTTP_201_CREATED)


# -- members -----------------------------------------------------------------------------------


class MemberOutput(serializers.ModelSerializer):
    user = serializers.IntegerField(source="user_id", read_only=True)
    username = serializers.CharField(source="user.username", read_only=True)

    class Meta:
        model = Membership
        fields = ["user", "username", "role", "joined_at"]
        read_only_fields = fields


class MemberInput(serializers.Serializer):
    username = serializers.CharField()
    role = serializers.ChoiceField(choices=Membership.Role.choices)


@extend_schema_view(
    get=extend_schema(tags=["projects"], summary="The project's members and roles (lead)"),
    post=extend_schema(
        tags=["projects"],
        summary="Add a member or change their role (lead)",
        request=MemberInput,
        responses={201: MemberOutput, **PROJECT_ERRORS},
        examples=[
            OpenApiExample(
                "labeler", value={"username": "ann", "role": "labeler"}, request_only=True
            )
        ],
    ),
)
class MemberListApi(ProjectScopedApi, generics.ListCreateAPIView):
    serializer_class = MemberOutput
    required_capability = Capability.MANAGE

    def get_queryset(self):
        return (
            Membership.objects.filter(project=self.project)
            .select_related("user")
            .order_by("role", "user__username")
        )

    def create(self, request, *args, **kwargs):
        data = valid_input(MemberInput, request.data)
        user = User.objects.filter(username=data["username"]).first()
        if user is None:
            raise ValidationError({"username": [f"No user named {data['username']}."]})
        membership = membership_set(project=self.project, user=user, role=data["role"])
        return Response(MemberOutput(membership).data, status=status.HTTP_201_CREATED)
