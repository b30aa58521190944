"""Boxes as the API and the pages exchange them, {x, y, width, height, label_class}: checking the
ones a labeler sends (numbers, size, inside the image, a class of the project), and box_dict,
the one place a stored box is written out in that shape.

A box that overshoots the image border by a little (a drag that ended just past the edge) is
clipped to the image; one that lies farther outside is refused, because it is a mistake the
labeler should see, not something to quietly repair.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass

MAX_BOXES = 1000
BOX_FIELDS = ("x", "y", "width", "height", "label_class")


class BoxesInvalid(ValueError):
    """The request's boxes cannot be stored; `message` says which box and why."""

    def __init__(self, message: str, *, index: int | None = None):
        super().__init__(message)
        self.message = message
        self.index = index


@dataclass(frozen=True)
class CleanBox:
    x: float
    y: float
    width: float
    height: float
    label_class_id: int


def box_dict(box) -> dict:
    """A box in the shape the API and the pages use; `box` is anything with x, y, width, height
    and label_class_id (a labeler's Box, a ConsensusBox, a CleanBox)."""
    return {
        "x": box.x,
        "y": box.y,
        "width": box.width,
        "height": box.height,
        "label_class": box.label_class_id,
    }


def overshoot_tolerance(side: int) -> float:
    """How far past the border (pixels) a box may reach and still be clipped, not refused."""
    return max(0.02 * side, 4.0)


def boxes_clean(
    raw_boxes, *, image_width: int, image_height: int, class_ids: Iterable[int]
) -> list[CleanBox]:
    """Validate and clip the boxes of one request; raise BoxesInvalid on the first bad box."""
    if not isinstance(raw_boxes, list):
        raise BoxesInvalid('"boxes" must be a list of boxes.')
    if len(raw_boxes) > MAX_BOXES:
        raise BoxesInvalid(
            f"An image can have at most {MAX_BOXES} boxes; this request has {len(raw_boxes)}."
        )
    allowed = set(class_ids)
    return [
        _box_clean(raw, index, image_width, image_height, allowed)
        for index, raw in enumerate(raw_boxes)
    ]


def _box_clean(raw, index: int, width: int, height: int, allowed: set[int]) -> CleanBox:
    def refuse(reason: str):
        raise BoxesInvalid(f"Box {index + 1} (index {index}): {reason}", index=index)

    if not isinstance(raw, dict):
        refuse("must be an object with x, y, width, height and label_class.")
    missing = [name for name in BOX_FIELDS if name not in raw]
    if missing:
        refuse(f"missing {', '.join(missing)}.")
    numbers = {}
    for name in ("x", "y", "width", "height"):
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            refuse(f"{name} must be a number, not {_shown(value)}.")
        try:
            numbers[name] = float(value)
        except OverflowError:  # an int beyond any float: 10**400
            refuse(f"{name} must be a pixel coordinate, not {_shown(value)}.")
        if not math.isfinite(numbers[name]):
            refuse(f"{name} must be a finite number, not {value!r}.")
    if numbers["width"] <= 0 or numbers["height"] <= 0:
        refuse(
            f"width and height must be positive (got {numbers['width']:g} x {numbers['height']:g})."
        )
    label_class = raw["label_class"]
    if isinstance(label_class, bool) or not isinstance(label_class, int):
        refuse(
            f"label_class must be the id of one of this project's classes, not {_shown(label_class)}."
        )
    if label_class not in allowed:
        refuse(f"label_class {_shown(label_class)} is not a class of this project.")

    x0, y0 = numbers["x"], numbers["y"]
    x1, y1 = x0 + numbers["width"], y0 + numbers["height"]
    tol_x, tol_y = overshoot_tolerance(width), overshoot_tolerance(height)
    if x0 < -tol_x or y0 < -tol_y or x1 > width + tol_x or y1 > height + tol_y:
        refuse(
            f"lies outside the {width} x {height} image "
            f"(x {x0:g} to {x1:g}, y {y0:g} to {y1:g}); draw it inside the image."
        )
    x0, y0 = max(x0, 0.0), max(y0, 0.0)
    x1, y1 = min(x1, float(width)), min(y1, float(height))
    if x1 - x0 <= 0 or y1 - y0 <= 0:
        refuse("lies outside the image; nothing of it is left inside the border.")
    return CleanBox(x=x0, y=y0, width=x1 - x0, height=y1 - y0, label_class_id=label_class)


def _shown(value, limit: int = 40) -> str:
    """A value as the error message quotes it: short, whatever a client sent."""
    if isinstance(value, int) and value.bit_length() > 64:  # repr() fails past 4300 digits
        return f"a number of about {int(value.bit_length() * 0.30103) + 1} digits"
    text = repr(value)
    return text if len(text) <= limit else f"{text[:limit]}… ({len(text)} characters)"
