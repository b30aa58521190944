from rest_framework import generics, serializers

from projects.models import Project
from projects.permissions import Capability, HasProjectCapability, projects_visible_to, role_of


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


class ProjectListApi(generics.ListAPIView):
    """The projects where the caller has a role, with that role."""

    serializer_class = ProjectOutput

    def get_queryset(self):
        return projects_visible_to(self.request.user).order_by("name", "id")


class ProjectDetailApi(generics.RetrieveAPIView):
    serializer_class = ProjectOutput
    permission_classes = [HasProjectCapability]
    required_capability = Capability.VIEW

    def get_project(self):
        return generics.get_object_or_404(Project, pk=self.kwargs["project_id"])

    def get_object(self):
        return self.get_project()
