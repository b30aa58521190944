from django.conf import settings
from django.db import models
from django.db.models import Q

from projects.models import Image, InstructionVersion, LabelClass


class Annotation(models.Model):
    """One person's label set for one image.

    A labeler's annotation is blind: no one else's boxes are ever shown next to it. The lead's
    adjudication of an image is stored the same way, with kind=adjudication; it overrides the
    consensus in exports and is never counted as a labeler in agreement. A model's imported
    predictions are kind=model, their boxes with a score: compared with the consensus
    (quality.services.model_comparison), never a labeler, never in consensus, K-alpha or labeler figures.
    A labeler's answer on a gold image (gold.models) has kind=gold: it counts nowhere but in
    their gold score, and the labeler's own pages and endpoints treat it exactly as kind=label
    (LABELER_KINDS).
    """

    class Status(models.TextChoices):
        DRAFT = "draft", "Draft"
        SUBMITTED = "submitted", "Submitted"

    class Kind(models.TextChoices):
        LABEL = "label", "Labeler's labels"
        ADJUDICATION = "adjudication", "Lead's adjudication"
        MODEL = "model", "Model's predictions"
        GOLD = "gold", "Labeler's answer on a gold image"

    # What a labeler made, as they see it: the two kinds must look the same to them.
    LABELER_KINDS = (Kind.LABEL, Kind.GOLD)

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="annotations")
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="annotations"
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.LABEL)
    instruction_version = models.ForeignKey(
        InstructionVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="annotations",
        help_text="The instructions in force when this label set was started.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    started_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    active_seconds = models.FloatField(default=0, help_text="Time spent with the page in focus.")

    class Meta:
        ordering = ["image_id", "labeler_id"]
        constraints = [
            models.UniqueConstraint(fields=["image", "labeler"], name="annotation_unique_labeler"),
            models.UniqueConstraint(
                fields=["image"],
                condition=Q(kind="adjudication"),
                name="annotation_one_adjudication_per_image",
            ),
            models.CheckConstraint(
                condition=Q(status="draft") | Q(submitted_at__isnull=False),
                name="annotation_submitted_has_time",
            ),
            models.CheckConstraint(condition=Q(active_seconds__gte=0), name="annotation_time_ge_0"),
        ]
        indexes = [
            models.Index(fields=["image", "kind", "status"]),
            # Drafts are few at any time; the queue looks for abandoned ones through this.
            models.Index(
                fields=["updated_at"],
                condition=Q(kind="label", status="draft"),
                name="annotation_drafts_by_age",
            ),
        ]

    def __str__(self):
        return f"{self.labeler} on {self.image} ({self.status})"


class Box(models.Model):
    """A bounding box in image pixels: top-left x/y, width/height, as the image is displayed."""

    annotation = models.ForeignKey(Annotation, on_delete=models.CASCADE, related_name="boxes")
    label_class = models.ForeignKey(LabelClass, on_delete=models.PROTECT, related_name="boxes")
    x = models.FloatField()
    y = models.FloatField()
    width = models.FloatField()
    height = models.FloatField()
    score = models.FloatField(
        null=True, blank=True, help_text="A model's confidence (0-1); empty for people's boxes."
    )

    class Meta:
        ordering = ["annotation_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(width__gt=0, height__gt=0), name="box_positive_size"
            ),
            models.CheckConstraint(condition=Q(x__gte=0, y__gte=0), name="box_inside_top_left"),
        ]
        verbose_name_plural = "boxes"

    def __str__(self):
        return f"{self.label_class} at ({self.x:.0f}, {self.y:.0f}, {self.width:.0f}, {self.height:.0f})"
