"""One colour-blind-safe palette for class colours, and the keys the labeling page keeps."""

from annotations.views import palette
from projects.palette import (
    CLASS_COLORS,
    RESERVED_KEYS,
    class_color_unused,
    hotkey_free,
)
from projects.services import label_class_save
from tests.factories import LabelClassFactory


def test_the_palette_is_okabe_ito():
    assert set(CLASS_COLORS) == {
        "#000000", "#e69f00", "#56b4e9", "#009e73", "#f0e442", "#0072b2", "#d55e00", "#cc79a7",
    }  # fmt: skip


def test_an_unused_colour_is_suggested_and_colours_repeat_once_all_are_taken():
    assert class_color_unused([]) == CLASS_COLORS[0]
    assert class_color_unused([CLASS_COLORS[0].upper(), "#123456"]) == CLASS_COLORS[1]
    assert class_color_unused(CLASS_COLORS) == CLASS_COLORS[0]
    assert class_color_unused([*CLASS_COLORS, "#123456"]) == CLASS_COLORS[1]


def test_the_free_hotkey_is_the_first_digit_no_class_uses():
    assert hotkey_free([]) == "1"
    assert hotkey_free(["1", "2", "a"]) == "3"
    assert hotkey_free(list("123456789")) == ""
    assert not RESERVED_KEYS & set("123456789")


def test_a_new_class_without_a_colour_gets_one_the_project_does_not_use(project):
    car = label_class_save(project=project, name="car")
    truck = label_class_save(project=project, name="truck")
    assert (car.color, truck.color) == CLASS_COLORS[:2]
    assert label_class_save(project=project, name="lorry", label_class=truck).color == truck.color


def test_classes_with_a_key_the_labeling_page_keeps_get_a_free_digit(project):
    LabelClassFactory(project=project, name="car", hotkey="1", order=0)
    LabelClassFactory(project=project, name="fence", hotkey="f", order=1)
    LabelClassFactory(project=project, name="pole", hotkey="", order=2)
    LabelClassFactory(project=project, name="sign", hotkey="s", order=3)
    assert [(c["name"], c["hotkey"]) for c in palette(project)] == [
        ("car", "1"),
        ("fence", "2"),
        ("pole", "3"),
        ("sign", "s"),
    ]
