from django.contrib import admin

from quality.models import AgreementRun, Flag, ImageAgreement, LabelerAgreement, ProjectAgreement


@admin.register(Flag)
class FlagAdmin(admin.ModelAdmin):
    list_display = ["message", "kind", "status", "image", "project"]
    list_filter = ["project", "kind", "status"]
    raw_id_fields = ["image", "other_image"]


@admin.register(ImageAgreement)
class ImageAgreementAdmin(admin.ModelAdmin):
    list_display = ["image", "score", "labeler_count", "object_count", "engine_version"]
    raw_id_fields = ["image"]


@admin.register(AgreementRun)
class AgreementRunAdmin(admin.ModelAdmin):
    list_display = ["project", "state", "done", "total", "created_at", "finished_at"]


admin.site.register(LabelerAgreement)
admin.site.register(ProjectAgreement)
