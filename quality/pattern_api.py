"""API of the project's habits: GET /api/projects/{id}/patterns/ (leads, engineers) and
POST /api/patterns/{id}/act/ (leads): one step on a habit (quality.services.patterns)."""

from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import generics, serializers
from rest_framework.response import Response

from concord.parsers import valid_input
from projects.models import Project
from projects.permissions import Capability, ProjectScopedApi
from quality.models import Pattern
from quality.selectors.patterns import patterns_listed
from quality.services.pattern_actions import ACTIONS, pattern_act


class PatternDecisionOutput(serializers.Serializer):
    action = serializers.CharField()
    note = serializers.CharField()
    by = serializers.CharField(allow_null=True)
    at = serializers.DateTimeField()
    examples = serializers.ListField(
        child=serializers.IntegerField(), help_text="Flags shown to the labeler with feedback."
    )


class PatternAfterOutput(serializers.Serializer):
    strength = serializers.FloatField()
    ci = serializers.ListField(child=serializers.FloatField())
    support = serializers.IntegerField()


class PatternOutput(serializers.ModelSerializer):
    labeler = serializers.SerializerMethodField(help_text="Username; null: the project's habit.")
    label_class = serializers.SerializerMethodField()
    other_class = serializers.SerializerMethodField()
    ci = serializers.SerializerMethodField(help_text="[low, high] at 95%.")
    examples = serializers.ListField(
        source="example_flag_ids", child=serializers.IntegerField(), help_text="Flag ids."
    )
    decision = serializers.SerializerMethodField()
    before = serializers.FloatField(
        source="before_strength", allow_null=True, help_text="Strength when decided."
    )
    after = serializers.SerializerMethodField(
        help_text="The habit on label sets submitted after the decision: {strength, ci, "
        "support}; null before a decision or without such label sets."
    )

    class Meta:
        model = Pattern
        fields = [
            "id",
            "labeler",
            "kind",
            "label_class",
            "other_class",
            "strength",
            "ci",
            "support",
            "size",
            "examples",
            "status",
            "found",
            "decision",
            "before",
            "after",
            "computed_at",
        ]
        read_only_fields = fields

    def get_labeler(self, p) -> str | None:
        return p.labeler.username if p.labeler else None

    def get_label_class(self, p) -> str | None:
        return p.label_class.name if p.label_class else None

    def get_other_class(self, p) -> str | None:
        return p.other_class.name if p.other_class else None

    def get_ci(self, p) -> list[float]:
        return [p.ci_low, p.ci_high]

    @extend_schema_field(PatternDecisionOutput(allow_null=True))
    def get_decision(self, p) -> dict | None:
        if p.decided_at is None:
            return None
        return {
            "action": p.action,
            "note": p.note,
            "by": p.decided_by.username if p.decided_by else None,
            "at": p.decided_at,
            "examples": list(p.feedback_flag_ids),
        }

    @extend_schema_field(PatternAfterOutput(allow_null=True))
    def get_after(self, p) -> dict | None:
        if p.decided_at is None or p.after_strength is None:
            return None
        return {
            "strength": p.after_strength,
            "ci": [p.after_ci_low, p.after_ci_high],
            "support": p.after_support,
        }


class PatternListApi(ProjectScopedApi, generics.ListAPIView):
    """The project's habits found by the latest summary, and those a lead acted on (with their
    strength on label sets submitted since: did coaching work?)."""

    serializer_class = PatternOutput
    required_capability = Capability.READ_RESULTS

    def get_queryset(self):
        return patterns_listed(project=self.project)


class PatternActInput(serializers.Serializer):
    action = serializers.ChoiceField(choices=list(ACTIONS))
    note = serializers.CharField(required=False, allow_blank=True, default="", max_length=5000)


class PatternActOutput(serializers.Serializer):
    pattern = PatternOutput()
    settled = serializers.IntegerField(help_text="Flags settled (accept_consensus).")
    skipped = serializers.IntegerField(
        help_text="The habit's flags left open: their image's consensus has a class tie."
    )
    redirect = serializers.CharField(
        help_text="clarify: the instructions editor prefilled with a worked example; else ''."
    )


class PatternActApi(ProjectScopedApi):
    """Act on a habit in one step: accept the consensus on all its flags, send the labeler
    feedback with example images, or clarify the instructions (answers the editor's URL)."""

    required_capability = Capability.RESOLVE
    pattern: Pattern

    def get_project(self) -> Project:
        self.pattern = generics.get_object_or_404(
            Pattern.objects.select_related("project"), pk=self.kwargs["pattern_id"]
        )
        return self.pattern.project

    @extend_schema(request=PatternActInput, responses=PatternActOutput)
    def post(self, request, pattern_id):
        data = valid_input(PatternActInput, request.data)
        outcome = pattern_act(
            pattern=self.pattern, user=request.user, action=data["action"], note=data["note"]
        )
        pattern = patterns_listed(project=self.project).get(pk=self.pattern.pk)
        return Response(PatternActOutput({"pattern": pattern, **outcome}).data)
