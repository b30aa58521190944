"""Gold images: images whose true boxes the lead set, served blind among the others to score
labelers against the truth, qualify new ones and pause the ones who fall below the bar.

A labeler's answer on a gold image is an Annotation of kind "gold" (annotations.models): the
agreement pipeline, the consensus and the exports read kind "label" only, so gold answers never
count there, and every page and endpoint a labeler uses treats both kinds alike.
"""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q

from annotations.models import Annotation
from projects.models import Image, InstructionVersion, LabelClass, Project


class GoldPolicy(models.Model):
    """How a project mixes gold into the queue and judges labelers; a project without a row
    uses the defaults (gold is served only once the project has gold images)."""

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="gold_policy")
    rate = models.FloatField(
        default=0.1,
        validators=[MinValueValidator(0.0), MaxValueValidator(0.5)],
        help_text="Share of a qualified labeler's images that are gold (0 to 0.5).",
    )
    qualification_size = models.PositiveSmallIntegerField(
        default=5,
        validators=[MaxValueValidator(100)],
        help_text="Gold images a new labeler answers first; 0: no qualification.",
    )
    qualify_threshold = models.FloatField(
        default=0.8,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text="Gold score a new labeler needs over the qualification set.",
    )
    threshold = models.FloatField(
        default=0.9,
        validators=[MinValueValidator(0.01), MaxValueValidator(1.0)],
        help_text="A labeler whose gold score's upper confidence bound falls under it is paused.",
    )
    min_images = models.PositiveSmallIntegerField(
        default=12,
        validators=[MinValueValidator(1), MaxValueValidator(1000)],
        help_text="Gold images answered before the pause rule applies.",
    )
    confidence = models.FloatField(
        default=0.9,
        validators=[MinValueValidator(0.5), MaxValueValidator(0.999)],
        help_text="Of the intervals shown; the pause uses their upper end.",
    )
    feedback = models.BooleanField(
        default=False,
        help_text="Show a labeler, right after they submit a gold image, what the gold says.",
    )
    feedback_limit = models.PositiveSmallIntegerField(
        default=10,
        validators=[MaxValueValidator(1000)],
        help_text="Gold answers per labeler that get feedback (each one reveals a gold image).",
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "gold policies"
        constraints = [
            models.CheckConstraint(
                condition=Q(rate__gte=0, rate__lte=0.5), name="gold_rate_0_to_half"
            ),
            models.CheckConstraint(
                condition=Q(threshold__gt=0, threshold__lte=1), name="gold_threshold_in_0_1"
            ),
        ]

    def __str__(self):
        return f"gold policy of {self.project}"


class GoldImage(models.Model):
    class Source(models.TextChoices):
        ADJUDICATION = "adjudication", "The lead's adjudication"
        CONSENSUS = "consensus", "The labelers' consensus"
        BOXES = "boxes", "Boxes given by the lead"
        IMPORT = "import", "Imported (COCO, YOLO or VOC)"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="gold_images")
    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="gold")
    source = models.CharField(max_length=16, choices=Source.choices)
    version = models.PositiveIntegerField(
        default=1, help_text="Goes up each time the gold boxes change; answers are re-scored."
    )
    instruction_version = models.ForeignKey(
        InstructionVersion,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="The instructions these gold boxes follow.",
    )
    active = models.BooleanField(default=True, help_text="Served to labelers.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "id"]
        indexes = [models.Index(fields=["project", "active", "id"], name="gold_served_order")]

    def __str__(self):
        return f"gold {self.image} v{self.version}"


class GoldBox(models.Model):
    gold = models.ForeignKey(GoldImage, on_delete=models.CASCADE, related_name="boxes")
    label_class = models.ForeignKey(LabelClass, on_delete=models.PROTECT, related_name="+")
    x = models.FloatField()
    y = models.FloatField()
    width = models.FloatField()
    height = models.FloatField()

    class Meta:
        ordering = ["gold_id", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(width__gt=0, height__gt=0), name="goldbox_positive_size"
            ),
        ]

    def __str__(self):
        return f"{self.label_class} at ({self.x:.0f}, {self.y:.0f})"


class GoldAnswer(models.Model):
    """A labeler's submitted answer on a gold image, scored against its gold boxes: summable
    figures (a labeler's score adds their rows) and what went wrong, box by box."""

    annotation = models.OneToOneField(
        Annotation, on_delete=models.CASCADE, related_name="gold_answer"
    )
    gold = models.ForeignKey(GoldImage, on_delete=models.CASCADE, related_name="answers")
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_answers"
    )
    qualification = models.BooleanField(
        default=False, help_text="Answered as part of the labeler's qualification set."
    )
    gold_version = models.PositiveIntegerField(help_text="The gold version scored against.")
    submitted_at = models.DateTimeField()
    scored_at = models.DateTimeField()
    gold_boxes = models.PositiveIntegerField()
    answer_boxes = models.PositiveIntegerField()
    matched = models.PositiveIntegerField(help_text="On a gold box (IoU >= match_iou), any class.")
    correct = models.PositiveIntegerField(help_text="Matched and of the gold class.")
    iou_sum = models.FloatField()
    iou_sq_sum = models.FloatField()
    kalpha = models.FloatField(null=True, blank=True)
    per_class = models.JSONField(
        default=dict, help_text="{gold class id: [gold boxes, answered as it, correct]}"
    )
    details = models.JSONField(
        default=dict,
        help_text='Box ids: {"missed": [gold], "extra": [box], "wrong_class": [[box, gold]], '
        '"loose": [[box, gold, iou]]}',
    )
    feedback_at = models.DateTimeField(
        null=True, blank=True, help_text="Feedback shown: the score keeps this first attempt."
    )

    class Meta:
        ordering = ["project_id", "labeler_id", "submitted_at", "id"]
        indexes = [models.Index(fields=["project", "labeler", "submitted_at"])]

    def __str__(self):
        return f"{self.labeler} on gold {self.gold_id}: {self.correct}/{self.units}"

    @property
    def units(self) -> int:
        return self.gold_boxes + self.answer_boxes - self.correct


class LabelerGold(models.Model):
    """A labeler's standing in a project's gold checks: qualifying, active or paused."""

    class State(models.TextChoices):
        QUALIFYING = "qualifying", "Answering the qualification set"
        ACTIVE = "active", "Active"
        PAUSED = "paused", "Paused"

    class Reason(models.TextChoices):
        QUALIFICATION = "qualification", "Did not pass the qualification set"
        GOLD_SCORE = "gold_score", "Gold score under the bar"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="gold_standings"
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ACTIVE)
    reason = models.CharField(max_length=16, choices=Reason.choices, blank=True)
    qualified_at = models.DateTimeField(null=True, blank=True)
    paused_at = models.DateTimeField(null=True, blank=True)
    resumed_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="The lead resumed them: the pause rule counts gold answers from then on.",
    )
    resumed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "labeler_id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "labeler"], name="labeler_gold_unique"),
        ]

    def __str__(self):
        return f"{self.labeler} in {self.project}: {self.state}"
