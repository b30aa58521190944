import pytest
from django.core.exceptions import ValidationError

from projects.instructions import (
    instructions_current,
    instructions_pending_for,
    last_acknowledged_version,
)
from projects.markdown import render_markdown
from projects.models import Membership
from projects.services import (
    instruction_acknowledge,
    instruction_version_publish,
    label_class_save,
    membership_set,
    project_create,
)


def test_project_create_makes_the_creator_lead_and_publishes_version_1(lead):
    project = project_create(creator=lead, name="Docks", instructions="Box every crane.")
    assert project.slug == "docks"
    assert Membership.objects.get(project=project, user=lead).role == "lead"
    assert instructions_current(project=project).number == 1
    assert project_create(creator=lead, name="Docks").slug == "docks-2"


def test_project_slug_never_shadows_a_page_address(lead):
    assert project_create(creator=lead, name="New").slug == "new-2"


def test_project_needs_a_name(lead):
    with pytest.raises(ValidationError, match="name"):
        project_create(creator=lead, name="   ")


def test_instruction_versions_are_numbered_in_order_and_must_be_acknowledged(
    project, lead, labeler_a
):
    v1 = instruction_version_publish(project=project, author=lead, body="Box cars.")
    assert instructions_pending_for(user=labeler_a, project=project) == v1
    instruction_acknowledge(user=labeler_a, version=v1)
    instruction_acknowledge(user=labeler_a, version=v1)  # twice is harmless
    assert instructions_pending_for(user=labeler_a, project=project) is None
    v2 = instruction_version_publish(
        project=project, author=lead, body="Box cars and vans.", summary="Vans"
    )
    assert v2.number == 2
    assert instructions_pending_for(user=labeler_a, project=project) == v2
    assert last_acknowledged_version(user=labeler_a, project=project) == v1


def test_the_current_instructions_say_whether_the_reader_read_them_in_one_query(
    project, lead, labeler_a, labeler_b, django_assert_num_queries
):
    assert instructions_current(project=project) is None
    instruction_version_publish(project=project, author=lead, body="Box cars.")
    v2 = instruction_version_publish(project=project, author=lead, body="Box vans.", summary="V")
    instruction_acknowledge(user=labeler_a, version=v2)
    with django_assert_num_queries(1):
        current = instructions_current(project=project, reader=labeler_a)
    assert current == v2 and current.acknowledged
    assert not instructions_current(project=project, reader=labeler_b).acknowledged
    with django_assert_num_queries(1):
        assert instructions_pending_for(user=labeler_b, project=project) == v2


def test_empty_instructions_are_refused(project, lead):
    with pytest.raises(ValidationError, match="empty"):
        instruction_version_publish(project=project, author=lead, body="  ")


def test_class_names_and_hotkeys_stay_unique(project):
    car = label_class_save(project=project, name="car", hotkey="1")
    with pytest.raises(ValidationError, match="already has a class"):
        label_class_save(project=project, name="Car")
    with pytest.raises(ValidationError, match="already used by car"):
        label_class_save(project=project, name="truck", hotkey="1")
    renamed = label_class_save(project=project, name="auto", hotkey="1", label_class=car)
    assert renamed.pk == car.pk and renamed.name == "auto"


def test_class_color_must_be_a_hex_color(project):
    with pytest.raises(ValidationError):
        label_class_save(project=project, name="car", color="red")


def test_membership_set_changes_roles_but_keeps_a_lead(project, lead, outsider):
    membership_set(project=project, user=outsider, role="engineer")
    assert Membership.objects.get(project=project, user=outsider).role == "engineer"
    with pytest.raises(ValidationError, match="at least one lead"):
        membership_set(project=project, user=lead, role="labeler")
    with pytest.raises(ValidationError, match="Role must be"):
        membership_set(project=project, user=outsider, role="boss")


def test_markdown_is_rendered_and_sanitised():
    html = render_markdown(
        "# Rules\n\n**Tight** boxes.<script>alert(1)</script>[x](javascript:alert(1))"
    )
    assert "<h1>Rules</h1>" in html and "<strong>Tight</strong>" in html
    assert "<script" not in html and "javascript:" not in html


def test_each_new_class_comes_after_the_last_one(lead):
    project = project_create(creator=lead, name="Harbour")
    for name in ("boat", "crane", "truck"):
        label_class_save(project=project, name=name)
    assert list(project.classes.order_by("pk").values_list("name", "order")) == [
        ("boat", 0),
        ("crane", 1),
        ("truck", 2),
    ]
