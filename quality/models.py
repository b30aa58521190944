"""Stored results of the agreement engine: what the report, the flag queue and exports read.

Rows here are written only by quality.services.assessment, from engine results; pages never compute
agreement per request.
"""

from django.conf import settings
from django.db import models
from django.db.models import Case, F, Q, Value, When

from projects.models import Image, InstructionVersion, LabelClass, Project
from quality.engine.habit_tables import LABELER_CLASS


class ImageAgreement(models.Model):
    image = models.OneToOneField(Image, on_delete=models.CASCADE, related_name="agreement")
    score = models.FloatField(help_text="0 = nothing in common, 1 = identical label sets.")
    labeler_count = models.PositiveSmallIntegerField()
    object_count = models.PositiveIntegerField()
    open_flag_count = models.PositiveIntegerField(default=0)
    params = models.JSONField(default=dict, help_text="Engine parameters used.")
    engine_version = models.CharField(max_length=32)
    input_digest = models.CharField(
        max_length=64, help_text="Digest of the label sets assessed; equal digest, nothing to redo."
    )
    computed_at = models.DateTimeField()
    # Summable figures (quality.engine.figures), folded by the project summary.
    kalpha = models.FloatField(null=True, blank=True, help_text="K-alpha at the match IoU.")
    score_bin = models.PositiveSmallIntegerField(default=0, help_text="Histogram bin of score.")
    instruction_version = models.PositiveIntegerField(
        default=0, help_text="Newest instruction version number of its label sets; 0 for none."
    )
    figures_version = models.PositiveSmallIntegerField(
        default=0, help_text="FIGURES_VERSION the figures were stored with; 0: none stored."
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(score__gte=0, score__lte=1), name="agreement_score_0_1"
            )
        ]
        indexes = [
            # The image browser's sorts by agreement and by open flags, a page at a time.
            models.Index(fields=["score", "image"], name="agreement_by_score"),
            models.Index(
                models.F("open_flag_count").desc(), "image", name="agreement_by_open_flags"
            ),
            # The sweep finds results of another engine version (few or none) through it.
            models.Index(fields=["engine_version"], name="agreement_by_engine_version"),
            # ... and results whose stored figures are of another FIGURES_VERSION.
            models.Index(fields=["figures_version"], name="agreement_by_figures_version"),
        ]

    def __str__(self):
        return f"{self.image}: agreement {self.score:.2f}"


class LabelSetFigures(models.Model):
    """One labeler's summable figures on one assessed image (quality.engine.figures)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    pair_f1_sum = models.FloatField(help_text="Sum of the F1 of the labeler pairs it is in.")
    pair_count = models.PositiveIntegerField()
    boxes = models.PositiveIntegerField()
    peer_boxes = models.FloatField(help_text="Mean boxes of the image's other label sets.")
    active_seconds = models.FloatField()
    # Live flags of the image by kind (quality.engine.figures.ASSESSED_FLAG_KINDS): those where
    # this labeler is the one who deviates, and those that involve them with no majority.
    deviating_label_conflict = models.PositiveIntegerField(default=0)
    deviating_missing = models.PositiveIntegerField(default=0)
    deviating_low_overlap = models.PositiveIntegerField(default=0)
    deviating_grouping = models.PositiveIntegerField(default=0)
    deviating_duplicate = models.PositiveIntegerField(default=0)
    tied_label_conflict = models.PositiveIntegerField(default=0)
    tied_missing = models.PositiveIntegerField(default=0)
    tied_low_overlap = models.PositiveIntegerField(default=0)
    tied_grouping = models.PositiveIntegerField(default=0)
    tied_duplicate = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["image", "labeler"], name="label_set_figures_unique")
        ]
        indexes = [models.Index(fields=["project", "labeler"], name="label_set_figures_fold")]

    def __str__(self):
        return f"figures of {self.labeler_id} on image {self.image_id}"


class ClassFigures(models.Model):
    """Objects of one class (empty: the labelers' classes tie) on one assessed image, summed."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    label_class = models.ForeignKey(
        LabelClass,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    object_count = models.PositiveIntegerField()
    support_sum = models.FloatField()
    confidence_sum = models.FloatField()
    iou_sum = models.FloatField()
    iou_count = models.PositiveIntegerField(
        help_text="Objects with a mean IoU (two boxes or more)."
    )

    class Meta:
        indexes = [
            models.Index(fields=["image"], name="class_figures_image"),
            models.Index(fields=["project", "label_class"], name="class_figures_fold"),
        ]

    def __str__(self):
        return f"class {self.label_class_id} figures on image {self.image_id}"


class ConfusionFigures(models.Model):
    """Pairs of boxes inside one object where one labeler said class_a and another class_b."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    class_a = models.ForeignKey(
        LabelClass, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    class_b = models.ForeignKey(
        LabelClass, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    count = models.PositiveIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["image"], name="confusion_figures_image"),
            models.Index(fields=["project", "class_a", "class_b"], name="confusion_figures_fold"),
        ]

    def __str__(self):
        return f"{self.class_a_id}/{self.class_b_id} x{self.count} on image {self.image_id}"


class HabitRows(models.Model):
    """What both habit evidence tables hold per row: the assessed image (its rows are replaced
    when it is assessed again), its project (the fold's key) and whose sums for which class
    (labeler empty: the project's own; class empty: a class tie)."""

    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="+", db_index=False)
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+", db_index=False)
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        db_index=False,
    )
    label_class = models.ForeignKey(
        LabelClass, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        db_index=False,
    )  # fmt: skip

    class Meta:
        abstract = True


class HabitEvidence(HabitRows):
    """Habit evidence table 1 (quality.engine.habit_tables) of one assessed image: one labeler's
    sums for one class (labeler empty: the project's own counts; class empty: a class tie).

    The value columns are ``v_<column>`` for every habit_tables.LABELER_CLASS column, added
    below the class. Written when the image is assessed, folded (GROUP BY, SUM) by the summary.
    """

    class Meta:
        indexes = [
            models.Index(fields=["image"], name="habit_evidence_image"),
            models.Index(fields=["project", "labeler"], name="habit_evidence_fold"),
        ]

    def __str__(self):
        return f"habit evidence of {self.labeler_id} on image {self.image_id}"


for _column in LABELER_CLASS:
    HabitEvidence.add_to_class(f"v_{_column}", models.FloatField(default=0.0))


class HabitPairEvidence(HabitRows):
    """Habit evidence table 2 of one assessed image: (labeler, class, other class) counts."""

    other_class = models.ForeignKey(
        LabelClass, on_delete=models.CASCADE, null=True, blank=True, related_name="+",
        db_index=False,
    )  # fmt: skip
    pair_count = models.FloatField()
    pair_share = models.FloatField()

    class Meta:
        indexes = [
            models.Index(fields=["image"], name="habit_pair_evidence_image"),
            models.Index(fields=["project", "labeler"], name="habit_pair_evidence_fold"),
        ]

    def __str__(self):
        return f"habit pairs of {self.labeler_id} on image {self.image_id}"


class Pattern(models.Model):
    """A habit (quality.engine.habits) found in a project, refreshed by every summary.

    ``key`` (kind, labeler, class, other class) is its identity: a summary that finds the habit
    again updates the same row, so the lead's decision stays with it. A habit no longer found
    keeps its row (``found`` false) while it has a decision: its coaching figures still matter.
    """

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        ACTED = "acted", "Acted on"

    class Action(models.TextChoices):
        ACCEPT_CONSENSUS = "accept_consensus", "Settled its flags (consensus)"
        FEEDBACK = "feedback", "Feedback sent to the labeler"
        CLARIFY = "clarify", "Instructions clarified"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="patterns")
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="patterns",
        help_text="Empty: the project's own habit (an ambiguous pair of classes).",
    )
    kind = models.CharField(max_length=32)
    label_class = models.ForeignKey(
        LabelClass, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    other_class = models.ForeignKey(
        LabelClass, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    key = models.CharField(max_length=100, help_text="kind:labeler:class:other, the identity.")
    strength = models.FloatField()
    ci_low = models.FloatField()
    ci_high = models.FloatField()
    support = models.PositiveIntegerField()
    size = models.CharField(max_length=500, help_text="The habit in words; names no labeler.")
    found = models.BooleanField(default=True, help_text="Found by the latest summary.")
    example_flag_ids = models.JSONField(default=list)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    action = models.CharField(max_length=32, choices=Action.choices, blank=True)
    note = models.TextField(blank=True)
    feedback_flag_ids = models.JSONField(
        default=list, help_text="The example flags the labeler was shown with the feedback."
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    before_strength = models.FloatField(null=True, blank=True, help_text="At the decision.")
    after_strength = models.FloatField(
        null=True, blank=True, help_text="On label sets submitted after the decision."
    )
    after_ci_low = models.FloatField(null=True, blank=True)
    after_ci_high = models.FloatField(null=True, blank=True)
    after_support = models.PositiveIntegerField(default=0)
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "key"], name="pattern_unique_key"),
        ]

    def __str__(self):
        return f"{self.kind} of {self.labeler_id} on {self.label_class_id}"


class ConsensusBox(models.Model):
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="consensus_boxes")
    index = models.PositiveIntegerField(help_text="The object's index in the engine's result.")
    label_class = models.ForeignKey(
        LabelClass,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="consensus_boxes",
        help_text="Empty when the labelers' classes tie.",
    )
    x = models.FloatField()
    y = models.FloatField()
    width = models.FloatField()
    height = models.FloatField()
    support = models.FloatField(help_text="Share of labelers who boxed this object.")
    label_confidence = models.FloatField()
    mean_iou = models.FloatField()

    class Meta:
        ordering = ["image_id", "index"]
        constraints = [
            models.UniqueConstraint(fields=["image", "index"], name="consensus_unique_index"),
            models.CheckConstraint(
                condition=Q(width__gt=0, height__gt=0), name="consensus_positive"
            ),
        ]

    def __str__(self):
        return f"consensus {self.label_class or 'tie'} on image {self.image_id}"


# The flag queue's "impact" order: the kinds whose correction changes the consensus come first
# (a class conflict or tie changes its class, grouping and near-duplicates the objects, a
# missing or duplicate box the count), the refinements of a box that stays last.
FLAG_IMPACT_RANK = {
    "label_conflict": 0,
    "grouping": 1,
    "near_duplicate_conflict": 2,
    "missing": 3,
    "duplicate": 4,
    "model_disagrees": 5,
    "low_overlap": 6,
}


def flag_impact_rank() -> Case:
    """The rank of a flag's kind in the impact order, as the SQL expression the queue's index
    (flag_queue_impact) is built on: the queue orders by this same expression."""
    return Case(
        *(When(kind=kind, then=Value(rank)) for kind, rank in FLAG_IMPACT_RANK.items()),
        default=Value(len(FLAG_IMPACT_RANK)),
        output_field=models.IntegerField(),
    )


class Flag(models.Model):
    class Kind(models.TextChoices):
        LABEL_CONFLICT = "label_conflict", "Label conflict"
        MISSING = "missing", "Missing"
        LOW_OVERLAP = "low_overlap", "Low overlap"
        GROUPING = "grouping", "Grouping"
        DUPLICATE = "duplicate", "Duplicate"
        NEAR_DUPLICATE_CONFLICT = "near_duplicate_conflict", "Near-duplicate conflict"
        MODEL_DISAGREES = "model_disagrees", "Model disagrees"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        RESOLVED = "resolved", "Resolved"
        DISMISSED = "dismissed", "Dismissed"
        SUPERSEDED = "superseded", "Superseded"

    class Resolution(models.TextChoices):
        ACCEPT_CONSENSUS = "accept_consensus", "Accepted the consensus"
        ACCEPT_LABELER = "accept_labeler", "Accepted one labeler's version"
        ADJUDICATED = "adjudicated", "Adjudicated"
        DISMISSED = "dismissed", "Dismissed"
        INSTRUCTIONS = "instructions", "Instructions clarified"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="flags")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="flags")
    other_image = models.ForeignKey(
        Image,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text="For near-duplicate conflicts: the image that looks the same.",
    )
    kind = models.CharField(max_length=32, choices=Kind.choices)
    key = models.CharField(
        max_length=255,
        help_text="Stable identity of this disagreement within the image: a recompute that "
        "finds the same disagreement keeps the same flag.",
    )
    labelers = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        through="FlagLabeler",
        related_name="flags",
        blank=True,
        help_text="Everyone involved, including whoever missed the object.",
    )
    box_ids = models.JSONField(default=list, help_text="Ids of the labelers' boxes involved.")
    label_class = models.ForeignKey(
        LabelClass, on_delete=models.SET_NULL, null=True, blank=True, related_name="flags"
    )
    message = models.CharField(max_length=500)
    severity = models.FloatField(
        default=0,
        db_default=0,
        help_text="How large the disagreement is, within its kind (the queue's impact order "
        "puts larger first): 1 - the lowest IoU of a low overlap, the objects a grouping box "
        "holds, the copies of a duplicate, 1 for a class conflict with no majority class.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN)
    resolution = models.CharField(max_length=32, choices=Resolution.choices, blank=True)
    resolution_note = models.TextField(blank=True)
    accepted_labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    instruction_version = models.ForeignKey(
        InstructionVersion,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="flags",
        help_text="The instruction version the resolution rests on.",
    )
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    resolved_at = models.DateTimeField(null=True, blank=True)
    settled_by = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="settled_flags",
        help_text="The flag whose decision on the image's labels (consensus, one labeler's "
        "version, adjudication) settled this one too; empty when decided on its own.",
    )
    pattern = models.ForeignKey(
        "Pattern",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="settled_flags",
        help_text="The habit whose decision settled this flag (a lead's one-step action).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["project_id", "image_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["image", "key"],
                condition=~Q(status="superseded"),
                name="flag_unique_live_key",
            ),
            models.CheckConstraint(
                condition=Q(status__in=["open", "superseded"]) | Q(resolved_at__isnull=False),
                name="flag_resolved_has_time",
            ),
        ]
        indexes = [
            models.Index(fields=["project", "status", "kind"]),
            # The flag queue: a project's flags of one status in image order, a page at a time.
            models.Index(fields=["project", "status", "image", "id"], name="flag_queue_order"),
            models.Index(fields=["image", "status"]),
            # The flag queue sorted by impact: kinds whose correction changes the consensus
            # first (FLAG_IMPACT_RANK), the largest disagreement first within a kind, then
            # image order, a page at a time.
            models.Index(
                F("project"),
                F("status"),
                flag_impact_rank(),
                F("severity").desc(),
                F("image"),
                F("id"),
                name="flag_queue_impact",
            ),
        ]

    def __str__(self):
        return self.message

    @property
    def deviating_usernames(self) -> list[str]:
        """Who deviates, by name (from ``report.flag_list_rows``'s prefetch when there is one)."""
        rows = getattr(self, "deviating_rows", None)
        if rows is None:
            rows = self.labeler_rows.filter(deviating=True).select_related("user")
        return sorted(row.user.username for row in rows)


class FlagLabeler(models.Model):
    """A labeler involved in a flag, and whether they are the one who deviates.

    ``deviating``: in the minority (who missed the object or boxed what most did not, drew the
    odd class, the loose box, the group box, or the same object twice). A flag whose labelers
    split evenly (two labelers who disagree) has no deviating labeler.
    """

    flag = models.ForeignKey(Flag, on_delete=models.CASCADE, related_name="labeler_rows")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    deviating = models.BooleanField(default=False, db_default=False)

    class Meta:
        # The table Django made for the many-to-many before it had this model.
        db_table = "quality_flag_labelers"
        unique_together = [("flag", "user")]
        indexes = [
            # Per-labeler flag counts and the flag queue's labeler filter read the deviating rows.
            models.Index(
                fields=["user", "flag"], condition=Q(deviating=True), name="flag_labeler_deviating"
            ),
        ]

    def __str__(self):
        return f"{self.user_id} in flag {self.flag_id}{' (deviating)' if self.deviating else ''}"


class LabelerAgreement(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="labeler_agreements"
    )
    labeler = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="agreements"
    )
    images_submitted = models.PositiveIntegerField(default=0)
    agreement_with_peers = models.FloatField(null=True, blank=True)
    agreement_with_adjudicated = models.FloatField(null=True, blank=True)
    vitality = models.FloatField(null=True, blank=True)
    boxes_per_image = models.FloatField(null=True, blank=True)
    peer_boxes_per_image = models.FloatField(null=True, blank=True)
    median_seconds = models.FloatField(null=True, blank=True)
    flag_counts = models.JSONField(
        default=dict, help_text="Live flags by kind in which this labeler is the one who deviates."
    )
    tied_flag_counts = models.JSONField(
        default=dict,
        help_text="Live flags by kind that involve this labeler with no majority either way.",
    )
    computed_at = models.DateTimeField()

    class Meta:
        ordering = ["project_id", "labeler__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "labeler"], name="labeler_agreement_unique")
        ]

    def __str__(self):
        return f"{self.labeler} in {self.project}"


class ProjectAgreement(models.Model):
    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="agreement")
    kalpha = models.FloatField(null=True, blank=True, help_text="Mean K-alpha over images.")
    mean_score = models.FloatField(null=True, blank=True)
    images_assessed = models.PositiveIntegerField(default=0)
    threshold_sweep = models.JSONField(default=list, help_text="[[match_iou, K-alpha], ...]")
    class_confusion = models.JSONField(
        default=dict, help_text='{"labels": [...], "matrix": [[...]]}'
    )
    per_class = models.JSONField(default=dict, help_text="Agreement per class.")
    score_histogram = models.JSONField(default=list)
    by_instruction_version = models.JSONField(default=list)
    params = models.JSONField(default=dict)
    engine_version = models.CharField(max_length=32, blank=True)
    computed_at = models.DateTimeField()

    def __str__(self):
        return f"agreement of {self.project}"


class ReportFigures(models.Model):
    """The report's figures that would otherwise scan the whole project on every request.

    Written with the project summary (quality.services.summary.report_figures_refresh, after
    each recompute and, debounced, after labels change). Flag counts also move in the same
    transaction as a lead's decision, so the report shows settled flags at once; progress and
    the worst images are as of ``computed_at``.
    """

    project = models.OneToOneField(Project, on_delete=models.CASCADE, related_name="figures")
    progress = models.JSONField(
        default=dict, help_text='{"total", "complete", "in_progress", "untouched"} images.'
    )
    flags_by_kind = models.JSONField(
        default=dict, help_text="Live flags: {kind: {status: count}}, superseded left out."
    )
    open_flags_by_class = models.JSONField(
        default=dict, help_text='Open flags per class: {class id or "": count}.'
    )
    worst_images = models.JSONField(
        default=list, help_text="Ids of the assessed images with the lowest scores, worst first."
    )
    computed_at = models.DateTimeField()
    flags_changed_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time a decision moved the flag counts."
    )

    def __str__(self):
        return f"report figures of {self.project}"


class AgreementRun(models.Model):
    """A background job of a project with progress (done of total): a recompute of its
    agreement, or an import of labels (imports.services; its report in params["report"])."""

    class Kind(models.TextChoices):
        RECOMPUTE = "recompute", "Recompute"
        IMPORT = "import", "Import"
        REGISTER = "register", "Register images from the bucket"

    class State(models.TextChoices):
        PENDING = "pending", "Pending"
        RUNNING = "running", "Running"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="agreement_runs")
    kind = models.CharField(
        max_length=16, choices=Kind.choices, default=Kind.RECOMPUTE, db_default=Kind.RECOMPUTE
    )
    reason = models.CharField(max_length=200, blank=True)
    state = models.CharField(max_length=16, choices=State.choices, default=State.PENDING)
    total = models.PositiveIntegerField(
        default=0,
        help_text="Images to assess (an import: label files to read; a registration: objects "
        "listed so far).",
    )
    done = models.PositiveIntegerField(default=0, help_text="Of total, done so far.")
    params = models.JSONField(default=dict)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(
        null=True, blank=True, help_text="Last time a chunk of the run started or finished."
    )
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"run {self.pk} of {self.project}: {self.state} {self.done}/{self.total}"

    @property
    def progress(self) -> float:
        return 1.0 if not self.total else self.done / self.total


class ModelComparison(models.Model):
    """A model's predictions on one assessed image against its consensus, counted per class.

    Written with the image's model_disagrees flags (quality.services.model_comparison); the report adds
    the rows of a project up. ``label_class`` empty: consensus objects whose class is a tie.
    """

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="+")
    image = models.ForeignKey(Image, on_delete=models.CASCADE, related_name="model_comparisons")
    model = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    label_class = models.ForeignKey(
        LabelClass, on_delete=models.CASCADE, null=True, blank=True, related_name="+"
    )
    consensus = models.PositiveIntegerField(default=0, help_text="Consensus objects of the class.")
    predicted = models.PositiveIntegerField(default=0, help_text="The model's boxes of the class.")
    agreed = models.PositiveIntegerField(
        default=0, help_text="Consensus objects the model boxed with the same class."
    )
    other_class = models.PositiveIntegerField(
        default=0, help_text="Consensus objects the model boxed with another class."
    )
    unboxed = models.PositiveIntegerField(
        default=0, help_text="The model's boxes of the class that no labeler boxed."
    )

    class Meta:
        ordering = ["image_id", "model_id", "label_class_id"]
        indexes = [models.Index(fields=["project", "model"], name="model_comparison_project")]

    def __str__(self):
        return f"model {self.model_id} on image {self.image_id}, class {self.label_class_id}"
