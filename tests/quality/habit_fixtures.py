"""A project whose labelers have known habits, labeled through the ORM and assessed for real.

Three labelers label every image (labelers_per_image 3): four cars in a row-free grid and,
on every third image, a truck. ``cho`` draws every car box with its bottom edge 50% of the
height too low (low-overlap flags where cho deviates); ``ann`` and ``bob`` are honest but for
``ann`` missing the truck on a few images (missing flags where ann deviates, not cho's habit).
"""

from __future__ import annotations

from projects.models import Project
from quality.services.assessment import images_refresh
from quality.services.patterns import patterns_refresh
from quality.services.summary import project_summarize
from tests.factories import (
    ImageFactory,
    LabelClassFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)
from tests.quality.labels import submit

CARS = [(40 + 140 * k, 60 + 90 * (k % 2), 60, 40) for k in range(4)]
TRUCK = (300, 330, 90, 60)
JITTER = {"ann": (1.25, 0.75), "bob": (-1.5, -0.5), "cho": (0.0, 0.0)}


def habits_project(lead) -> dict:
    project = ProjectFactory(created_by=lead, labelers_per_image=3)
    MembershipFactory(project=project, user=lead, role="lead")
    car = LabelClassFactory(project=project, name="car", hotkey="1", order=0)
    truck = LabelClassFactory(project=project, name="truck", hotkey="2", order=1)
    users = {}
    for name in ("ann", "bob", "cho"):
        users[name] = UserFactory(username=f"labeler_{name}")
        MembershipFactory(project=project, user=users[name], role="labeler")
    return {"project": project, "car": car, "truck": truck, **users}


def label_images(
    world: dict, n: int, *, cho_loose: bool = True, ann_misses: int = 0, assess: bool = True
) -> list:
    """``n`` new images labeled by all three; returns their ids (assessed unless ``assess`` is
    false; not summarized)."""
    ids = []
    for i in range(n):
        image = ImageFactory(project=world["project"])
        for name in ("ann", "bob", "cho"):
            dx, dy = JITTER[name]
            boxes = []
            for x, y, w, h in CARS:
                grow = 0.5 * h if (name == "cho" and cho_loose) else 0.0
                boxes.append((world["car"], (x + dx, y + dy, w, h + grow)))
            if i % 3 == 0 and not (name == "ann" and i // 3 < ann_misses):
                x, y, w, h = TRUCK
                boxes.append((world["truck"], (x + dx, y + dy, w, h)))
            submit(image, world[name], boxes)
        ids.append(image.pk)
    if assess:
        images_refresh(image_ids=ids)
    return ids


def summarize(project: Project) -> None:
    project = Project.objects.get(pk=project.pk)
    project_summarize(project=project)
    patterns_refresh(project=project)  # as the task after the summary does
