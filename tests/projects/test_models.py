import pytest
from django.db import IntegrityError, transaction

from annotations.models import Annotation
from projects.models import LabelClass, Membership, Project
from tests.factories import AnnotationFactory, BoxFactory, ImageFactory, ProjectFactory


def violates(callable_):
    with pytest.raises(IntegrityError), transaction.atomic():
        callable_()


@pytest.mark.django_db
def test_labelers_per_image_must_be_between_2_and_11():
    project = ProjectFactory()
    for bad in (1, 12):
        project.labelers_per_image = bad
        violates(project.save)


@pytest.mark.django_db
def test_iou_thresholds_must_be_inside_0_1():
    project = ProjectFactory()
    project.match_iou = 1.5
    violates(project.save)


def test_class_names_are_unique_within_a_project(project):
    LabelClass.objects.create(project=project, name="car")
    violates(lambda: LabelClass.objects.create(project=project, name="car"))
    LabelClass.objects.create(project=ProjectFactory(), name="car")  # another project: fine


def test_class_hotkeys_are_unique_within_a_project_but_may_be_blank(project):
    LabelClass.objects.create(project=project, name="car", hotkey="1")
    LabelClass.objects.create(project=project, name="a")
    LabelClass.objects.create(project=project, name="b")
    violates(lambda: LabelClass.objects.create(project=project, name="truck", hotkey="1"))


def test_one_membership_per_user_and_project(project, lead):
    violates(lambda: Membership.objects.create(project=project, user=lead, role="labeler"))


def test_one_annotation_per_image_and_labeler(project, labeler_a):
    image = ImageFactory(project=project)
    AnnotationFactory(image=image, labeler=labeler_a)
    violates(lambda: AnnotationFactory(image=image, labeler=labeler_a))


def test_submitted_annotation_needs_a_submission_time(project, labeler_a):
    image = ImageFactory(project=project)
    violates(lambda: Annotation.objects.create(image=image, labeler=labeler_a, status="submitted"))


@pytest.mark.parametrize("field", ["width", "height"])
@pytest.mark.parametrize("value", [0, -5])
def test_box_size_must_be_positive_in_the_database(project, labeler_a, classes, field, value):
    annotation = AnnotationFactory(image=ImageFactory(project=project), labeler=labeler_a)
    violates(lambda: BoxFactory(annotation=annotation, label_class=classes[0], **{field: value}))


def test_image_hash_is_unique_within_a_project(project):
    ImageFactory(project=project, sha256="a" * 64)
    violates(lambda: ImageFactory(project=project, sha256="a" * 64))
    ImageFactory(project=ProjectFactory(), sha256="a" * 64)


@pytest.mark.django_db
def test_project_str_and_url():
    project = ProjectFactory(name="Street scenes", slug="street")
    assert str(project) == "Street scenes"
    assert project.get_absolute_url() == "/projects/street/"
    assert Project.objects.count() == 1
