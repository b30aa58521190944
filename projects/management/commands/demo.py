"""python manage.py demo: the "Street scenes" project with users, images and three labelers' work."""

import random
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from annotations.models import Annotation, Box
from projects import demo
from projects.ingest import image_ingest_bytes
from projects.models import (
    Image,
    InstructionAcknowledgement,
    InstructionVersion,
    LabelClass,
    Membership,
    Project,
)
from quality.enqueue import recompute_start

PASSWORD = "concord-demo"
SLUG = "street-scenes"
USERS = [
    ("lead", "lead", "Lena Lead"),
    ("ann", "labeler", "Ann Labeler"),
    ("bob", "labeler", "Bob Labeler"),
    ("cho", "labeler", "Cho Labeler"),
    ("eng", "engineer", "Eli Engineer"),
]
LABELED_IMAGES = 60
FRESH_IMAGES = 12  # left unlabeled so a person can try the labeling queue


class Command(BaseCommand):
    help = "Create the demo project 'Street scenes' with users, images and labels (idempotent)."

    def handle(self, *args, **options):
        users = self._users()
        project, created = self._project(users)
        if created or not project.images.exists():
            self._images_and_labels(project, users)
            self.stdout.write(self.style.SUCCESS(f"Created the demo project '{project.name}'."))
        else:
            self.stdout.write(f"The demo project '{project.name}' exists already; nothing to do.")
        self._recompute(project, users["lead"])
        self.stdout.write("Log in at http://127.0.0.1:8000/accounts/login/ as any of:")
        for username, role, _ in USERS:
            self.stdout.write(f"  {username:<5} / {PASSWORD}   ({role})")
        self.stdout.write(f"  admin / {PASSWORD}   (superuser, /admin/)")

    def _recompute(self, project, lead):
        """Agreement, consensus and flags for the labeled images (in-process when eager)."""
        from concord.celery import app

        run = recompute_start(project=project, requested_by=lead, reason="Demo data")
        run.refresh_from_db()
        if app.conf.task_always_eager:
            self.stdout.write(
                f"Agreement computed for {run.done} of {run.total} images ({run.state})."
            )
        else:
            self.stdout.write(
                f"Agreement recompute of {run.total} images queued as run {run.pk}; "
                "a running `celery -A concord worker` computes it."
            )

    def _users(self):
        User = get_user_model()
        users = {}
        for username, _, full_name in USERS:
            first, last = full_name.split(" ", 1)
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                user.set_password(PASSWORD)
                user.save()
            users[username] = user
        admin, created = User.objects.get_or_create(
            username="admin", defaults={"is_staff": True, "is_superuser": True}
        )
        if created:
            admin.set_password(PASSWORD)
            admin.save()
        # The lead may create projects of their own from the home page.
        users["lead"].user_permissions.add(Permission.objects.get(codename="add_project"))
        return users

    @transaction.atomic
    def _project(self, users):
        project, created = Project.objects.get_or_create(
            slug=SLUG,
            defaults={
                "name": "Street scenes",
                "description": "Parked and moving vehicles, people and bicycles in generated street "
                "scenes, labeled by three labelers with different habits.",
                "created_by": users["lead"],
                "labelers_per_image": 3,
            },
        )
        for username, role, _ in USERS:
            Membership.objects.get_or_create(
                project=project, user=users[username], defaults={"role": role}
            )
        for order, (name, color, hotkey, guidance) in enumerate(demo.CLASSES):
            LabelClass.objects.get_or_create(
                project=project,
                name=name,
                defaults={"color": color, "hotkey": hotkey, "guidance": guidance, "order": order},
            )
        InstructionVersion.objects.get_or_create(
            project=project,
            number=1,
            defaults={
                "body": demo.INSTRUCTIONS_V1,
                "summary": "First version.",
                "author": users["lead"],
            },
        )
        return project, created

    @transaction.atomic
    def _images_and_labels(self, project, users):
        scenes = demo.make_scenes(count=LABELED_IMAGES + FRESH_IMAGES)
        classes = {c.name: c for c in project.classes.all()}
        version = project.instruction_versions.get(number=1)
        rng = random.Random(11)
        now = timezone.now()
        for index, scene in enumerate(scenes):
            result = image_ingest_bytes(
                project=project, name=f"{scene.key}.jpg", data=demo.render_scene(scene)
            )
            if not result.ok:
                self.stderr.write(f"{scene.key}: {result.status}: {result.reason}")
                continue
            if index >= LABELED_IMAGES:
                continue
            image = Image.objects.get(pk=result.image_id)
            boxes = []
            for habits in demo.LABELERS:
                labeler = users[habits.name]
                seconds = rng.uniform(*habits.seconds)
                annotation = Annotation.objects.create(
                    image=image,
                    labeler=labeler,
                    instruction_version=version,
                    status=Annotation.Status.SUBMITTED,
                    submitted_at=now - timedelta(minutes=(len(scenes) - index) * 3),
                    active_seconds=round(seconds, 1),
                )
                for label, (x, y, w, h) in demo.simulate_labels(scene, habits, seed=5):
                    boxes.append(
                        Box(
                            annotation=annotation,
                            label_class=classes[label],
                            x=x,
                            y=y,
                            width=w,
                            height=h,
                        )
                    )
            Box.objects.bulk_create(boxes)
        for habits in demo.LABELERS:
            InstructionAcknowledgement.objects.get_or_create(
                user=users[habits.name], version=version
            )
