from django.contrib import admin

from annotations.models import Annotation, Box


class BoxInline(admin.TabularInline):
    model = Box
    extra = 0


@admin.register(Annotation)
class AnnotationAdmin(admin.ModelAdmin):
    list_display = ["image", "labeler", "kind", "status", "submitted_at", "active_seconds"]
    list_filter = ["status", "kind", "image__project"]
    raw_id_fields = ["image"]
    inlines = [BoxInline]
