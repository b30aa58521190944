"""API of recompute runs: start a project recompute, read a run's progress."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from projects.models import Project
from projects.permissions import Capability, HasProjectCapability
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

    results = serializers.SerializerMethodField(
        help_text="A registration's objects so far: added, duplicate, refused, skipped (not an "
        "image by its name, or Concord's own files) and already (in the project before); null "
        "for a recompute."
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
            "results",
        ]
        read_only_fields = fields

    def get_results(self, run) -> dict[str, int] | None:
        return run.params.get("counts") if run.kind == AgreementRun.Kind.REGISTER else None


class RecomputeInput(serializers.Serializer):
    reason = serializers.CharField(required=False, allow_blank=True, max_length=200, default="")


class RecomputeOutput(serializers.Serializer):
    run = serializers.IntegerField(help_text="Id of the run; follow it at /api/runs/{id}/.")


class RecomputeApi(APIView):
    """Recompute the project's agreement, consensus and flags (leads). Answers 202 with the run."""

    permission_classes = [HasProjectCapability]
    required_capability = Capability.MANAGE

    def get_project(self) -> Project:
        return generics.get_object_or_404(Project, pk=self.kwargs["project_id"])

    @extend_schema(request=RecomputeInput, responses={202: RecomputeOutput})
    def post(self, request, project_id):
        data = RecomputeInput(data=request.data)
        data.is_valid(raise_exception=True)
        run = recompute_start(
            project=self.get_project(),
            requested_by=request.user,
            reason=data.validated_data["reason"] or "Requested through the API",
        )
        return Response(RecomputeOutput({"run": run.pk}).data, status=status.HTTP_202_ACCEPTED)


class RunApi(generics.RetrieveAPIView):
    """Progress of a recompute run: state pending/running/succeeded/failed, done of total."""

    serializer_class = RunOutput
    permission_classes = [HasProjectCapability]
    required_capability = Capability.READ_RESULTS

    def get_object(self) -> AgreementRun:
        if not hasattr(self, "_run"):
            self._run = generics.get_object_or_404(
                AgreementRun.objects.select_related("project", "requested_by"),
                pk=self.kwargs["run_id"],
            )
        return self._run

    def get_project(self) -> Project:
        return self.get_object().project
