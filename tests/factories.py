import factory
from django.contrib.auth import get_user_model

from annotations.models import Annotation, Box
from projects.models import Image, InstructionVersion, LabelClass, Membership, Project

PASSWORD = "pw-for-tests-1"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = get_user_model()
        django_get_or_create = ["username"]

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password(PASSWORD)


class ProjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Project

    name = factory.Sequence(lambda n: f"Project {n}")
    slug = factory.Sequence(lambda n: f"project-{n}")
    created_by = factory.SubFactory(UserFactory)


class MembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Membership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = "labeler"


class LabelClassFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = LabelClass

    project = factory.SubFactory(ProjectFactory)
    name = factory.Sequence(lambda n: f"class{n}")
    color = "#1f77b4"


class InstructionVersionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = InstructionVersion

    project = factory.SubFactory(ProjectFactory)
    number = factory.Sequence(lambda n: n + 1)
    body = "Box every car."
    author = factory.SubFactory(UserFactory)


class ImageFactory(factory.django.DjangoModelFactory):
    """An image row with a real small PNG on disk."""

    class Meta:
        model = Image

    project = factory.SubFactory(ProjectFactory)
    file = factory.django.ImageField(width=640, height=480, format="PNG")
    original_name = factory.Sequence(lambda n: f"image{n}.png")
    width = 640
    height = 480
    sha256 = factory.Sequence(lambda n: f"{n:064x}")


class AnnotationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Annotation

    image = factory.SubFactory(ImageFactory)
    labeler = factory.SubFactory(UserFactory)


class BoxFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Box

    annotation = factory.SubFactory(AnnotationFactory)
    label_class = factory.SubFactory(LabelClassFactory)
    x = 10.0
    y = 10.0
    width = 50.0
    height = 40.0
