"""API of recompute runs: start a project recompute, read a run's progress."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response

from concord.parsers import valid_input
from projects.models import Project
from projects.permissions import Capability, ProjectScopedApi
from quality.enqueue import recompute_start
from quality.models import AgreementRun


class RunOutput(serializers.ModelSerializer):
    progress = serializers.FloatField(read_only=True, help_text="done / total, 0 to 1.")
    requested_by = serializers.SlugRelatedField(
        slug_field="username",
        read_only=True,
        allow_null=True,
        help_text="Who started the run; null when Concord started it itself.",
    )
    report = serializers.SerializerMethodField(
        help_text="An import's report (per label file: imported, skipped and why; the "
        "assessment run's id), as far as it got; null for a recompute."
    )

    class Meta:
        model = AgreementRun
        fields = [
            "id",
            "project",
            "kind",
            "state",
            "done",
            "total",
            "progress",
            "reason",
            "requested_by",
            "created_at",
            "started_at",
            "finished_at",
            "error",
            "report",
        ]
        read_only_fields = fields

    def get_report(self, run) -> dict | None:
        if run.kind != AgreementRun.Kind.IMPORT:
            return None
        return {"phase": run.params.get("phase", "pending"), **run.params.get("report", {})}


class RecomputeInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class RecomputeOutput(serializers.Serializer):
    run = serializers.IntegerField(help_text="Id of the run; follow it at /api/runs/{id}/.")


class RecomputeApi(ProjectScopedApi):
    """Recompute the project's agreement, consensus and flags (leads). Answers 202 with the run."""

    required_capability = Capability.MANAGE

    @extend_schema(request=RecomputeInput, responses={202: RecomputeOutput})
    def post(self, request, project_id):
        data = valid_input(RecomputeInput, request.data)
        run = recompute_start(
            project=self.project,
            requested_by=request.user,
            reason=data["reason"] or "Requested through the API",
        )
        return Response(RecomputeOutput({"run": run.pk}).data, status=status.HTTP_202_ACCEPTED)


class RunApi(ProjectScopedApi, generics.RetrieveAPIView):
    """Progress of a run (a recompute, or an import with its report): state
    pending/running/succeeded/failed, done of total."""

    serializer_class = RunOutput
    required_capability = Capability.READ_RESULTS
    run: AgreementRun

    def get_project(self) -> Project:
        self.run = generics.get_object_or_404(
            AgreementRun.objects.select_related("project", "requested_by"),
            pk=self.kwargs["run_id"],
        )
        return self.run.project

    def get_object(self) -> AgreementRun:
        return self.run
