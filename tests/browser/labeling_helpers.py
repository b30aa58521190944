"""Helpers for the labeling browser tests: a scene image, drawing with the mouse, counting."""

import io
from dataclasses import dataclass, field

from django.core.files.base import ContentFile
from PIL import Image, ImageDraw

from tests.factories import ImageFactory


def scene_image(project, *, objects, size=(1600, 1000), name="scene.png", shade=(120, 140, 160)):
    """An image row whose PNG shows filled rectangles at `objects` [(x, y, w, h), ...]."""
    picture = Image.new("RGB", size, shade)
    draw = ImageDraw.Draw(picture)
    for i, (x, y, w, h) in enumerate(objects):
        draw.rectangle([x, y, x + w - 1, y + h - 1], fill=(230, 200 - 30 * i, 40 + 40 * i))
    buffer = io.BytesIO()
    picture.save(buffer, "PNG")
    return ImageFactory(
        project=project,
        file=ContentFile(buffer.getvalue(), name=name),
        original_name=name,
        width=size[0],
        height=size[1],
    )


@dataclass
class Labeler:
    """Drives the labeling page and counts the labeler's actions (drags, clicks, key presses)."""

    page: object
    actions: list = field(default_factory=list)

    def wait_ready(self, image_id=None):
        selector = '#stage[data-ready="1"]'
        if image_id is not None:
            selector += f'[data-image="{image_id}"]'
        self.page.wait_for_selector(selector)

    def to_screen(self, x, y):
        """Image pixels (API coordinates) to page coordinates."""
        stage = self.page.locator("#stage")
        width = int(stage.get_attribute("data-width"))
        height = int(stage.get_attribute("data-height"))
        box = self.page.locator("#label-image").bounding_box()
        return box["x"] + x * box["width"] / width, box["y"] + y * box["height"] / height

    def drag_box(self, x, y, w, h):
        self.actions.append(("drag", (x, y, w, h)))
        mouse = self.page.mouse
        mouse.move(*self.to_screen(x, y))
        mouse.down()
        mouse.move(*self.to_screen(x + w / 2, y + h / 2), steps=4)
        mouse.move(*self.to_screen(x + w, y + h), steps=4)
        mouse.up()

    def click(self, x, y):
        self.actions.append(("click", (x, y)))
        self.page.mouse.click(*self.to_screen(x, y))

    def key(self, key):
        self.actions.append(("key", key))
        self.page.keyboard.press(key)

    def box_count(self) -> int:
        return int(self.page.locator("#box-count").get_attribute("data-count") or 0)

    def wait_saved(self):
        self.page.wait_for_selector('#save-status[data-state="saved"]')


def iou(a, b) -> float:
    ax, ay, aw, ah = a
    bx, by, bw, bh = b
    ix = max(0.0, min(ax + aw, bx + bw) - max(ax, bx))
    iy = max(0.0, min(ay + ah, by + bh) - max(ay, by))
    inter = ix * iy
    return inter / (aw * ah + bw * bh - inter)
