from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse

from quality.engine.near_duplicates import PHASH_BANDS


class Project(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    labelers_per_image = models.PositiveSmallIntegerField(
        default=3,
        validators=[MinValueValidator(2), MaxValueValidator(11)],
        help_text="How many labelers label each image independently (2 to 11).",
    )
    match_iou = models.FloatField(
        default=0.5,
        validators=[MinValueValidator(0.05), MaxValueValidator(0.95)],
        help_text="Two boxes of different labelers are the same object at or above this IoU.",
    )
    low_iou = models.FloatField(
        default=0.75,
        validators=[MinValueValidator(0.05), MaxValueValidator(0.99)],
        help_text="A matched pair below this IoU is flagged as tight against loose boxes.",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="created_projects"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    archived = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(labelers_per_image__gte=2, labelers_per_image__lte=11),
                name="project_labelers_per_image_2_to_11",
            ),
            models.CheckConstraint(
                condition=Q(match_iou__gt=0, match_iou__lt=1),
                name="project_match_iou_in_0_1",
            ),
            models.CheckConstraint(
                condition=Q(low_iou__gt=0, low_iou__lt=1),
                name="project_low_iou_in_0_1",
            ),
        ]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("projects:detail", args=[self.slug])


class LabelClass(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="classes")
    name = models.CharField(max_length=100)
    color = models.CharField(
        max_length=7,
        default="#e6194b",
        validators=[RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a color like #1f77b4.")],
    )
    hotkey = models.CharField(
        max_length=1,
        blank=True,
        validators=[RegexValidator(r"^[0-9a-z]$", "A hotkey is one digit or lowercase letter.")],
    )
    guidance = models.TextField(blank=True, help_text="What counts as this class (Markdown).")
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["order", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "name"], name="labelclass_unique_name"),
            models.UniqueConstraint(
                fields=["project", "hotkey"],
                condition=~Q(hotkey=""),
                name="labelclass_unique_hotkey",
            ),
        ]
        verbose_name_plural = "label classes"

    def __str__(self):
        return self.name


class InstructionVersion(models.Model):
    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="instruction_versions"
    )
    number = models.PositiveIntegerField()
    body = models.TextField(help_text="The instructions, in Markdown.")
    summary = models.CharField(max_length=500, blank=True, help_text="What changed and why.")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "number"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "number"], name="instructions_unique_number"
            ),
            models.CheckConstraint(condition=Q(number__gte=1), name="instructions_number_from_1"),
        ]

    def __str__(self):
        return f"{self.project} instructions v{self.number}"


def instruction_asset_upload_to(instance, filename):
    return f"projects/{instance.project_id}/instructions/{instance.sha256[:2]}/{filename}"


class InstructionAsset(models.Model):
    """An image the lead put in the instructions (a worked example). Served only to members of
    its project (projects.instruction_views.asset_file); the Markdown links to that route."""

    project = models.ForeignKey(
        Project, on_delete=models.CASCADE, related_name="instruction_assets"
    )
    file = models.ImageField(upload_to=instruction_asset_upload_to)
    original_name = models.CharField(max_length=500)
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64, help_text="Of the stored file's bytes.")
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["project", "sha256"], name="instruction_asset_unique_sha256"
            ),
        ]

    def __str__(self):
        return self.original_name

    def get_absolute_url(self):
        return reverse("projects:instruction-asset", args=[self.project.slug, self.pk])


class InstructionAcknowledgement(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    version = models.ForeignKey(
        InstructionVersion, on_delete=models.CASCADE, related_name="acknowledgements"
    )
    acknowledged_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "version"], name="ack_unique_user_version")
        ]

    def __str__(self):
        return f"{self.user} acknowledged {self.version}"


class Membership(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", "Project lead"
        LABELER = "labeler", "Labeler"
        ENGINEER = "engineer", "ML engineer"

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="memberships")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["project_id", "role", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["project", "user"], name="membership_unique_user"),
            models.CheckConstraint(
                condition=Q(role__in=["lead", "labeler", "engineer"]), name="membership_valid_role"
            ),
        ]

    def __str__(self):
        return f"{self.user} is {self.get_role_display()} of {self.project}"


def image_upload_to(instance, filename):
    return f"projects/{instance.project_id}/images/{instance.sha256[:2]}/{instance.sha256}{_ext(filename)}"


def _ext(filename: str) -> str:
    dot = filename.rfind(".")
    return filename[dot:].lower() if dot != -1 else ""


def _phash_band(k: int) -> models.GeneratedField:
    shift, width = PHASH_BANDS[k]
    return models.GeneratedField(
        # An arithmetic shift of the signed hash, masked to the band's width: the unsigned band.
        expression=F("phash").bitrightshift(shift).bitand((1 << width) - 1),
        output_field=models.IntegerField(null=True),
        db_persist=True,
        help_text=f"Bits {shift} to {shift + width - 1} of phash (near-duplicate index).",
    )


class Image(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="images")
    file = models.ImageField(upload_to=image_upload_to, width_field=None, height_field=None)
    original_name = models.CharField(max_length=500)
    width = models.PositiveIntegerField(
        help_text="Pixels, as displayed (EXIF orientation applied)."
    )
    height = models.PositiveIntegerField(
        help_text="Pixels, as displayed (EXIF orientation applied)."
    )
    sha256 = models.CharField(max_length=64, help_text="Of the uploaded file's bytes.")
    phash = models.BigIntegerField(
        null=True, blank=True, help_text="64-bit perceptual hash (signed), for near-duplicates."
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)
    # The hash's pigeonhole bands (quality.engine.near_duplicates), computed by the database
    # wherever phash is written: an image's near-duplicate candidates are index lookups.
    phash_band_0 = _phash_band(0)
    phash_band_1 = _phash_band(1)
    phash_band_2 = _phash_band(2)
    phash_band_3 = _phash_band(3)
    phash_band_4 = _phash_band(4)
    label_set_count = models.PositiveIntegerField(
        default=0,
        db_default=0,  # rows COPYed in without the column (bench fills) start at 0 too
        editable=False,
        help_text=(
            "Labelers' label sets on the image, drafts included (abandoned ones until the queue "
            "reclaims them). Kept by database triggers on the annotations table "
            "(annotations migration 0003), so the queue finds free slots through an index."
        ),
    )
    submitted_count = models.PositiveIntegerField(
        default=0,
        db_default=0,
        editable=False,
        help_text=(
            "Labelers' submitted label sets on the image. Kept by database triggers on the "
            "annotations table (annotations migration 0004)."
        ),
    )
    labels_changed_at = models.DateTimeField(
        null=True,
        blank=True,
        editable=False,
        help_text=(
            "When the image's submitted label sets last changed: the latest updated_at of its "
            "submitted label sets, or when one was withdrawn or deleted. Kept by database "
            "triggers (annotations migration 0004); the agreement sweep reads recent ones."
        ),
    )

    class Meta:
        ordering = ["project_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["project", "sha256"], name="image_unique_sha256"),
            models.CheckConstraint(
                condition=Q(width__gt=0, height__gt=0), name="image_positive_size"
            ),
        ]
        indexes = [
            # The queue's order: most label sets first (partly labeled images complete first),
            # then by id; a range scan below labelers_per_image gives it without a sort.
            models.Index(fields=["project", "-label_set_count", "id"], name="image_queue_order"),
            # The image browser sorted by file name, a page at a time.
            models.Index(fields=["project", "original_name", "id"], name="image_by_name"),
            # The sweep reads the images whose labels changed since it last looked.
            models.Index(fields=["labels_changed_at"], name="image_labels_changed"),
            # Near-duplicate candidates: one equality probe per band.
            models.Index(fields=["project", "phash_band_0"], name="image_phash_band_0"),
            models.Index(fields=["project", "phash_band_1"], name="image_phash_band_1"),
            models.Index(fields=["project", "phash_band_2"], name="image_phash_band_2"),
            models.Index(fields=["project", "phash_band_3"], name="image_phash_band_3"),
            models.Index(fields=["project", "phash_band_4"], name="image_phash_band_4"),
        ]

    def __str__(self):
        return self.original_name


class Invitation(models.Model):
    """A lead's one-time link for someone without an account: they choose a username and a
    password and join the project with ``role``. Only a digest of the link's token is stored."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="invitations")
    role = models.CharField(max_length=16, choices=Membership.Role.choices)
    token_digest = models.CharField(max_length=64, unique=True)
    note = models.CharField(
        max_length=200, blank=True, help_text="Who the link is for, as the lead wrote it."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["project_id", "-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=["lead", "labeler", "engineer"]), name="invitation_valid_role"
            ),
        ]

    def __str__(self):
        return f"invitation to {self.project} as {self.role}"
