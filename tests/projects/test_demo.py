from django.core.management import call_command

from annotations.models import Annotation, Box
from projects import demo
from projects.models import Image, InstructionVersion, Membership, Project


def test_demo_creates_the_street_scenes_project_and_running_it_twice_creates_nothing_twice(db):
    call_command("demo")
    counts = (
        Project.objects.count(),
        Image.objects.count(),
        Annotation.objects.count(),
        Box.objects.count(),
        Membership.objects.count(),
        InstructionVersion.objects.count(),
    )
    project = Project.objects.get(slug="street-scenes")
    assert sorted(project.classes.values_list("name", flat=True)) == [
        "bicycle",
        "car",
        "person",
        "truck",
    ]
    assert project.images.count() == 72
    submitted = Annotation.objects.filter(status="submitted")
    assert submitted.count() == 60 * 3
    assert set(Membership.objects.values_list("role", flat=True)) == {"lead", "labeler", "engineer"}

    call_command("demo")
    again = (
        Project.objects.count(),
        Image.objects.count(),
        Annotation.objects.count(),
        Box.objects.count(),
        Membership.objects.count(),
        InstructionVersion.objects.count(),
    )
    assert again == counts


def test_simulated_labelers_have_their_habits():
    scenes = demo.make_scenes(count=60)
    habits = {h.name: h for h in demo.LABELERS}
    drawn = {
        name: [demo.simulate_labels(scene, habits[name], seed=5) for scene in scenes]
        for name in habits
    }
    truth_cars = sum(1 for s in scenes for o in s.objects if o.label == "car")
    ann_cars = sum(1 for image in drawn["ann"] for label, _ in image if label == "car")
    assert ann_cars < truth_cars  # rows of parked cars boxed as one
    truths = sum(len(s.objects) for s in scenes)
    assert sum(len(image) for image in drawn["cho"]) < truths  # skips small objects
    truth_trucks = sum(1 for s in scenes for o in s.objects if o.label == "truck")
    bob_trucks = sum(1 for image in drawn["bob"] for label, _ in image if label == "truck")
    assert bob_trucks < truth_trucks  # calls some trucks cars
    for image in drawn["cho"]:
        for _, (x, y, w, h) in image:
            assert w > 0 and h > 0 and x >= 0 and y >= 0
            assert x + w <= demo.WIDTH + 1e-6 and y + h <= demo.HEIGHT + 1e-6
