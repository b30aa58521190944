from django.contrib import admin, messages

from projects.ingest import images_ingest
from projects.models import (
    Image,
    InstructionAcknowledgement,
    InstructionVersion,
    LabelClass,
    Membership,
    Project,
)


class LabelClassInline(admin.TabularInline):
    model = LabelClass
    extra = 0


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


@admin.register(Project)
class ProjectAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "labelers_per_image", "match_iou", "low_iou", "archived"]
    list_filter = ["archived"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    inlines = [LabelClassInline, MembershipInline]


@admin.register(InstructionVersion)
class InstructionVersionAdmin(admin.ModelAdmin):
    list_display = ["project", "number", "summary", "author", "created_at"]
    list_filter = ["project"]


@admin.register(InstructionAcknowledgement)
class InstructionAcknowledgementAdmin(admin.ModelAdmin):
    list_display = ["user", "version", "acknowledged_at"]


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["project", "user", "role"]
    list_filter = ["project", "role"]


@admin.register(Image)
class ImageAdmin(admin.ModelAdmin):
    list_display = ["original_name", "project", "width", "height", "uploaded_at"]
    list_filter = ["project"]
    search_fields = ["original_name", "sha256"]
    readonly_fields = ["width", "height", "sha256", "phash", "uploaded_at"]
    fields = [
        "project",
        "file",
        "original_name",
        "width",
        "height",
        "sha256",
        "phash",
        "uploaded_at",
    ]

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        # New images go through the ingest service: checked, oriented, hashed, deduplicated.
        upload = form.cleaned_data["file"]
        (result,) = images_ingest(project=obj.project, files=[(upload.name, upload)])
        if result.ok:
            obj.pk = result.image_id
            messages.success(request, f"{result.name}: added.")
        else:
            messages.error(request, f"{result.name}: {result.status}: {result.reason}")

    def response_add(self, request, obj, post_url_continue=None):
        if obj.pk is None:
            return self.response_post_save_add(request, obj)
        return super().response_add(request, obj, post_url_continue)
