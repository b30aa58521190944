"""API of the report and the flag queue: GET agreement, GET flags, PATCH a flag (resolve)."""

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.exceptions import ValidationError as ApiValidationError
from rest_framework.response import Response

from concord.params import ID_MAX
from concord.parsers import valid_input
from projects.models import Project
from projects.permissions import Capability, ProjectScopedApi
from quality.models import Flag
from quality.selectors import flag_queue
from quality.selectors import report as report_selectors
from quality.services.review import flag_resolve


class FlagOutput(serializers.ModelSerializer):
    labelers = serializers.SerializerMethodField()
    deviating = serializers.SerializerMethodField(
        help_text="Usernames of the labelers in the minority (who missed, grouped, drew the odd "
        "class or the loose box, drew twice); empty when the labelers split evenly."
    )
    label_class = serializers.SerializerMethodField()
    accepted_labeler = serializers.SerializerMethodField()
    resolved_by = serializers.SerializerMethodField()
    instruction_version = serializers.SerializerMethodField()
    image_name = serializers.CharField(source="image.original_name", read_only=True)
    # Declared: a ModelSerializer's read-only field drops allow_blank, and the schema would then
    # leave out the "" an unresolved flag has.
    resolution = serializers.ChoiceField(
        choices=Flag.Resolution.choices, allow_blank=True, read_only=True
    )

    class Meta:
        model = Flag
        fields = [
            "id",
            "kind",
            "status",
            "message",
            "image",
            "image_name",
            "other_image",
            "labelers",
            "deviating",
            "box_ids",
            "label_class",
            "resolution",
            "resolution_note",
            "accepted_labeler",
            "instruction_version",
            "resolved_by",
            "resolved_at",
            "settled_by",
            "created_at",
        ]
        read_only_fields = fields

    def get_labelers(self, flag) -> list[dict]:
        # By name: the table behind the many-to-many has no order of its own.
        labelers = sorted(flag.labelers.all(), key=lambda u: u.username)
        return [{"id": u.pk, "username": u.username} for u in labelers]

    def get_deviating(self, flag) -> list[str]:
        return flag.deviating_usernames

    def get_label_class(self, flag) -> dict | None:
        c = flag.label_class
        return {"id": c.pk, "name": c.name} if c else None

    def get_accepted_labeler(self, flag) -> dict | None:
        u = flag.accepted_labeler
        return {"id": u.pk, "username": u.username} if u else None

    def get_resolved_by(self, flag) -> str | None:
        return flag.resolved_by.username if flag.resolved_by else None

    def get_instruction_version(self, flag) -> int | None:
        return flag.instruction_version.number if flag.instruction_version else None


class FlagListApi(ProjectScopedApi, generics.ListAPIView):
    """Flags of a project. Filters: kind, status (default: all but superseded), labeler (user
    id), label_class (class id)."""

    serializer_class = FlagOutput
    required_capability = Capability.READ_RESULTS

    def get_queryset(self):
        filters = {
            name: self.request.query_params.get(name, "") for name in flag_queue.FLAG_FILTERS
        }
        flags = flag_queue.flags_filtered(project=self.project, filters=filters)
        return flag_queue.flag_list_rows(flags)


class FlagResolveInput(serializers.Serializer):
    resolution = serializers.ChoiceField(choices=Flag.Resolution.choices)
    note = serializers.CharField(required=False, allow_blank=True, default="")
    accepted_labeler = serializers.IntegerField(
        required=False, min_value=1, max_value=ID_MAX, help_text="User id."
    )
    boxes = serializers.ListField(child=serializers.DictField(), required=False)
    instructions_body = serializers.CharField(required=False, allow_blank=True, default="")
    instructions_summary = serializers.CharField(required=False, allow_blank=True, default="")


class FlagResolveApi(ProjectScopedApi):
    """GET a flag; PATCH it to resolve it (leads only)."""

    required_capability = {"GET": Capability.READ_RESULTS, "*": Capability.RESOLVE}
    flag: Flag

    def get_project(self) -> Project:
        self.flag = generics.get_object_or_404(
            Flag.objects.select_related("project"), pk=self.kwargs["flag_id"]
        )
        return self.flag.project

    @extend_schema(responses=FlagOutput)
    def get(self, request, flag_id):
        return Response(FlagOutput(self._reloaded()).data)

    @extend_schema(request=FlagResolveInput, responses=FlagOutput)
    def patch(self, request, flag_id):
        data = valid_input(FlagResolveInput, request.data)
        accepted = None
        if data.get("accepted_labeler") is not None:
            accepted = get_user_model().objects.filter(pk=data["accepted_labeler"]).first()
            if accepted is None:
                raise ApiValidationError({"accepted_labeler": "No user with that id."})
        try:
            flag_resolve(
                flag=self.flag,
                user=request.user,
                resolution=data["resolution"],
                note=data["note"],
                accepted_labeler=accepted,
                boxes=data.get("boxes"),
                instructions_body=data["instructions_body"],
                instructions_summary=data["instructions_summary"],
            )
        except ValidationError as error:
            return Response(
                {"detail": " ".join(error.messages)}, status=status.HTTP_400_BAD_REQUEST
            )
        return Response(FlagOutput(self._reloaded()).data)

    def _reloaded(self) -> Flag:
        return flag_queue.flag_list_rows(Flag.objects.filter(pk=self.flag.pk)).get()


class AgreementApi(ProjectScopedApi):
    """The agreement report of a project, as the report page shows it."""

    required_capability = Capability.READ_RESULTS

    @extend_schema(responses=OpenApiTypes.OBJECT)
    def get(self, request, project_id):
        return Response(report_selectors.project_report(project=self.project))
