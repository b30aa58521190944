"""A small two-project world for the security tests, and the URL/schema enumeration they share.

Project A: 2 classes, 3 images, labeler_a and labeler_b each submitted boxes on image 1 (the
pipeline assessed it: an ImageAgreement and flags), an engineer, a lead, an instruction version.
Project B: its own lead and a labeler. Distinctive coordinates make leaks easy to spot.
"""

from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.utils import timezone

from annotations.models import Annotation, Box
from quality.models import Flag, ImageAgreement, Pattern
from tests.factories import (
    AnnotationFactory,
    ImageFactory,
    InstructionVersionFactory,
    LabelClassFactory,
    MembershipFactory,
    ProjectFactory,
    UserFactory,
)

# labeler_b's boxes: coordinates that cannot appear by accident in anything labeler_a reads.
B_BOXES = ((123.25, 67.75, 48.5, 39.125), (301.625, 211.375, 61.25, 44.875))
A_BOXES = ((121.5, 66.0, 50.0, 40.0), (300.0, 210.0, 60.0, 45.0))


@dataclass
class World:
    a: object
    b: object
    users: dict
    images: list
    annotation_a: object
    annotation_b: object
    flag: object
    instruction: object
    agreement: object
    image_b: object
    run: object = None
    pattern: object = None


def world_build() -> World:
    users = {
        name: UserFactory(username=name)
        for name in ("lead_a", "lead_b", "labeler_a", "labeler_b", "engineer", "outsider", "other")
    }
    a = ProjectFactory(name="Streets A", slug="streets-a", created_by=users["lead_a"])
    a.labelers_per_image = 2
    a.save()
    b = ProjectFactory(name="Fields B", slug="fields-b", created_by=users["lead_b"])
    for project, user, role in (
        (a, "lead_a", "lead"),
        (a, "labeler_a", "labeler"),
        (a, "labeler_b", "labeler"),
        (a, "engineer", "engineer"),
        (b, "lead_b", "lead"),
        (b, "other", "labeler"),
    ):
        MembershipFactory(project=project, user=users[user], role=role)
    car = LabelClassFactory(project=a, name="car", hotkey="1", order=0)
    truck = LabelClassFactory(project=a, name="truck", hotkey="2", order=1)
    LabelClassFactory(project=b, name="cow", hotkey="1", order=0)
    instruction = InstructionVersionFactory(project=a, number=1, author=users["lead_a"])
    images = [ImageFactory(project=a) for _ in range(3)]
    image_b = ImageFactory(project=b)
    annotation_a = _submit(images[0], users["labeler_a"], [(car, A_BOXES[0]), (car, A_BOXES[1])])
    annotation_b = _submit(images[0], users["labeler_b"], [(truck, B_BOXES[0]), (car, B_BOXES[1])])

    from quality.services.assessment import images_assess

    images_assess(image_ids=[images[0].pk])
    agreement = ImageAgreement.objects.get(image=images[0])
    flag = Flag.objects.filter(project=a).order_by("pk").first()
    assert flag is not None, "the pipeline raised no flag for a car/truck conflict"
    pattern = Pattern.objects.create(
        project=a, labeler=users["labeler_b"], kind="class_confusion", label_class=car,
        other_class=truck, key=f"class_confusion:{users['labeler_b'].pk}:{car.pk}:{truck.pk}",
        strength=0.5, ci_low=0.3, ci_high=0.7, support=40,
        size="calls 50% of car objects truck (20 of 40), against 0% for the others",
        example_flag_ids=[flag.pk], computed_at=timezone.now(),
    )  # fmt: skip
    return World(
        a,
        b,
        users,
        images,
        annotation_a,
        annotation_b,
        flag,
        instruction,
        agreement,
        image_b,
        pattern=pattern,
    )


def _submit(image, labeler, boxes):
    annotation = AnnotationFactory(
        image=image,
        labeler=labeler,
        status=Annotation.Status.SUBMITTED,
        submitted_at=timezone.now(),
        active_seconds=30.0,
    )
    Box.objects.bulk_create(
        Box(annotation=annotation, label_class=cls, x=x, y=y, width=w, height=h)
        for cls, (x, y, w, h) in boxes
    )
    return annotation


def url_routes() -> list[tuple[str, str | None]]:
    """Every (route, name) in the URL conf, routes joined from their includes."""
    return [(route, name) for route, name, _view in url_views()]


def url_views() -> list[tuple[str, str | None, object]]:
    """Every (route, name, view callable) in the URL conf, routes joined from their includes."""
    return list(_walk(get_resolver().url_patterns, "", ""))


def _walk(patterns, prefix, namespace):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace + (f"{pattern.namespace}:" if pattern.namespace else "")
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            yield (
                prefix + str(pattern.pattern),
                (namespace + pattern.name if pattern.name else None),
                pattern.callback,
            )


def schema_operations() -> set[tuple[str, str]]:
    """Every (METHOD, route) the OpenAPI schema documents, routes in URL-conf spelling."""
    from drf_spectacular.generators import SchemaGenerator

    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = set()
    for path, item in schema["paths"].items():
        for method in item:
            if method in {"get", "post", "put", "patch", "delete"}:
                operations.add((method.upper(), path))
    return operations
