"""Raters that exist only because labels were imported: outside labelers and models."""

from django.conf import settings
from django.db import models
from django.db.models import Q

from projects.models import Project


class ImportedRater(models.Model):
    """A user made for imported labels: a labeler from outside Concord (a vendor, a CVAT user)
    or a model. Their user cannot log in (inactive, no password) and is no member of the
    project, so the queue never gives them an image; their label sets are submitted ones.

    A model's label sets are Annotation kind=model: never a labeler (quality.services.model_comparison).
    """

    class Kind(models.TextChoices):
        LABELER = "labeler", "Imported labeler"
        MODEL = "model", "Model"

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="imported_rater"
    )
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="imported_raters")
    name = models.CharField(max_length=150, help_text="As the import named them.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    score_threshold = models.FloatField(
        null=True, blank=True, help_text="A model's: predictions below this score were left out."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "kind", "name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="imported_rater_unique_name"),
            models.CheckConstraint(
                condition=Q(kind__in=["labeler", "model"]), name="imported_rater_valid_kind"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.name} of {self.project}"
