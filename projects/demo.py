"""The demo project: generated street scenes with known objects, and three simulated labelers.

Images are drawn with Pillow from a list of known objects, so the ground truth is exact. The
labelers label from that truth with the habits real labelers have: ann boxes a row of parked cars
as one group, bob mixes up trucks and cars, cho draws loose boxes and skips small objects. Everyone
jitters a little. Everything is seeded: the same command gives the same project every time.
"""

import io
import random
from dataclasses import dataclass, replace

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFilter

from projects.palette import CLASS_COLORS

WIDTH, HEIGHT = 640, 400
CURB_Y = 250

CLASSES = [
    (
        "car",
        CLASS_COLORS[0],
        "1",
        "Passenger cars, vans and SUVs. One box per vehicle, even when parked in a row.",
    ),
    (
        "truck",
        CLASS_COLORS[1],
        "2",
        "Lorries, delivery trucks and buses: anything with a separate cab or taller than a van.",
    ),
    (
        "person",
        CLASS_COLORS[2],
        "3",
        "Every person standing or walking, however small. Riders are boxed as person too.",
    ),
    ("bicycle", CLASS_COLORS[3], "4", "The bicycle itself, wheels included, without its rider."),
]

INSTRUCTIONS_V1 = """# Street scenes: what to box

Box every **car**, **truck**, **person** and **bicycle** you can see.

* Draw tight boxes: the box touches the object's outermost pixels on all four sides.
* Box each object on its own. Do not draw one box around several objects.
* Box small and distant objects too.
* When you are unsure of the class, pick the closest one and move on.

Press **1-4** to choose the class, drag to draw, **Enter** to submit.
"""


@dataclass(frozen=True)
class Truth:
    label: str  # "car", "truck", "person", "bicycle", or "van" (ambiguous: car or truck)
    box: tuple[float, float, float, float]
    row: int = -1  # parked cars in the same row share a row id


@dataclass(frozen=True)
class Scene:
    key: str
    objects: tuple[Truth, ...]
    tint: int
    noise_seed: int


def make_scenes(count: int = 60, near_duplicates: int = 8, seed: int = 7) -> list[Scene]:
    rng = random.Random(seed)
    base_count = count - near_duplicates
    scenes = [_random_scene(rng, f"street-{i + 1:03d}") for i in range(base_count)]
    for i in range(near_duplicates):
        original = scenes[i * 3]
        # The same frame a moment later: identical objects, slightly different light and noise.
        scenes.append(
            replace(
                original,
                key=f"{original.key}-b",
                tint=original.tint + 6,
                noise_seed=rng.randrange(10**6),
            )
        )
    return scenes


def _random_scene(rng: random.Random, key: str) -> Scene:
    objects: list[Truth] = []
    x = rng.uniform(10, 60)
    row = 0
    while x < WIDTH - 220:
        cars_in_row = rng.choice([0, 1, 3, 3, 4])
        if cars_in_row:
            gap = rng.uniform(3, 8)
            for _ in range(cars_in_row):
                w, h = rng.uniform(62, 78), rng.uniform(34, 42)
                if x + w > WIDTH - 8:
                    break
                objects.append(Truth("car", (x, CURB_Y - h, w, h), row=row))
                x += w + gap
            row += 1
        x += rng.uniform(40, 90)
    if rng.random() < 0.6:
        w, h = rng.uniform(110, 140), rng.uniform(64, 80)
        tx = rng.uniform(20, WIDTH - w - 20)
        objects.append(Truth(rng.choice(["truck", "truck", "van"]), (tx, CURB_Y + 95 - h, w, h)))
    for _ in range(rng.randint(1, 4)):
        scale = rng.choice([1.0, 1.0, 0.45])  # some people are far away and small
        w, h = 16 * scale, 44 * scale
        px = rng.uniform(5, WIDTH - w - 5)
        py = (
            rng.uniform(CURB_Y - 90, CURB_Y - 60)
            if scale < 1
            else rng.uniform(CURB_Y + 8, CURB_Y + 40)
        )
        objects.append(Truth("person", (px, py, w, h)))
    if rng.random() < 0.5:
        w, h = rng.uniform(38, 46), rng.uniform(24, 30)
        objects.append(Truth("bicycle", (rng.uniform(5, WIDTH - w - 5), CURB_Y + 60, w, h)))
    return Scene(key, tuple(objects), tint=rng.randint(-12, 12), noise_seed=rng.randrange(10**6))


_COLORS = {
    "car": [(40, 90, 160), (160, 40, 40), (200, 200, 210), (30, 30, 30), (90, 140, 90)],
    "truck": [(220, 180, 40), (120, 120, 130)],
    "van": [(235, 235, 235)],
    "person": [(90, 50, 40), (40, 60, 120)],
    "bicycle": [(20, 20, 20)],
}


def render_scene(scene: Scene) -> bytes:
    """Draw a scene as a JPEG whose objects are exactly the scene's boxes."""
    rng = random.Random(scene.noise_seed)
    t = scene.tint
    image = PILImage.new("RGB", (WIDTH, HEIGHT), (150 + t, 190 + t, 230))
    draw = ImageDraw.Draw(image)
    draw.rectangle([0, 120, WIDTH, CURB_Y], fill=(170 + t, 160 + t, 150 + t))  # buildings
    for bx in range(0, WIDTH, 80):
        draw.rectangle([bx + 8, 60, bx + 70, CURB_Y - 50], fill=(190 + t, 170 + t, 150 + t))
    draw.rectangle([0, CURB_Y, WIDTH, HEIGHT], fill=(80 + t, 80 + t, 85 + t))  # road
    draw.rectangle([0, CURB_Y, WIDTH, CURB_Y + 6], fill=(200, 200, 200))  # curb
    for lx in range(0, WIDTH, 60):
        draw.rectangle([lx, CURB_Y + 100, lx + 30, CURB_Y + 104], fill=(240, 240, 240))
    for index, obj in enumerate(scene.objects):
        palette = _COLORS[obj.label]
        _draw_object(draw, obj, palette[(index + scene.noise_seed) % len(palette)])
    image = image.filter(ImageFilter.GaussianBlur(0.6))
    pixels = image.load()
    for _ in range(1500):
        px, py = rng.randrange(WIDTH), rng.randrange(HEIGHT)
        r, g, b = pixels[px, py]
        d = rng.randint(-20, 20)
        pixels[px, py] = (max(0, min(255, r + d)), max(0, min(255, g + d)), max(0, min(255, b + d)))
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=88)
    return buffer.getvalue()


def _draw_object(draw: ImageDraw.ImageDraw, obj: Truth, color) -> None:
    x, y, w, h = obj.box
    x1, y1 = x + w - 1, y + h - 1
    if obj.label in ("car", "van", "truck"):
        body_top = y + h * (0.35 if obj.label == "car" else 0.15)
        draw.rectangle([x, body_top, x1, y1 - h * 0.15], fill=color)
        roof_inset = w * (0.2 if obj.label == "car" else 0.0)
        cab = [x + roof_inset, y, x1 - roof_inset, body_top]
        if obj.label == "truck":
            cab = [x1 - w * 0.3, y + h * 0.05, x1, body_top + 4]
            draw.rectangle([x, y, x1 - w * 0.32, y1 - h * 0.15], fill=color)
        draw.rectangle(cab, fill=color)
        draw.rectangle([cab[0] + 4, cab[1] + 3, cab[2] - 4, body_top - 2], fill=(170, 210, 235))
        r = h * 0.15
        for cx in (x + w * 0.22, x1 - w * 0.22):
            draw.ellipse([cx - r, y1 - 2 * r, cx + r, y1], fill=(15, 15, 15))
    elif obj.label == "person":
        head = w * 0.45
        draw.ellipse(
            [x + w / 2 - head / 2, y, x + w / 2 + head / 2, y + head], fill=(230, 190, 160)
        )
        draw.rectangle([x, y + head, x1, y + h * 0.6], fill=color)
        draw.rectangle([x + w * 0.15, y + h * 0.6, x1 - w * 0.15, y1], fill=(40, 40, 50))
    else:  # bicycle
        r = h / 2
        draw.ellipse([x, y1 - 2 * r, x + 2 * r, y1], outline=color, width=2)
        draw.ellipse([x1 - 2 * r, y1 - 2 * r, x1, y1], outline=color, width=2)
        draw.line([x + r, y1 - r, x + w / 2, y, x1 - r, y1 - r], fill=color, width=2)


@dataclass(frozen=True)
class LabelerHabits:
    name: str
    groups_rows: float = 0.0  # chance to draw one box around a row of parked cars
    truck_as_car: float = 0.0  # chance to call a truck a car
    looseness: tuple[float, float] = (0.0, 0.0)  # box grown by this share on each side
    skips_below_area: float = 0.0  # objects smaller than this (px^2) are skipped
    duplicate_rate: float = 0.0
    jitter: float = 1.5
    seconds: tuple[float, float] = (25, 70)


LABELERS = [
    LabelerHabits("ann", groups_rows=0.75, jitter=1.0, seconds=(20, 50)),
    LabelerHabits("bob", truck_as_car=0.45, duplicate_rate=0.03, jitter=1.2, seconds=(30, 80)),
    LabelerHabits("cho", looseness=(0.08, 0.2), skips_below_area=500, jitter=1.5, seconds=(15, 40)),
]


def simulate_labels(scene: Scene, habits: LabelerHabits, seed: int) -> list[tuple[str, tuple]]:
    """What this labeler would draw on this scene: a list of (class name, (x, y, w, h))."""
    rng = random.Random(f"{seed}:{scene.key}:{habits.name}")
    drawn: list[tuple[str, tuple]] = []
    rows: dict[int, list[Truth]] = {}
    for obj in scene.objects:
        if obj.row >= 0:
            rows.setdefault(obj.row, []).append(obj)
    grouped = {
        row for row, cars in rows.items() if len(cars) >= 2 and rng.random() < habits.groups_rows
    }
    for row in sorted(grouped):
        cars = rows[row]
        x0 = min(c.box[0] for c in cars)
        y0 = min(c.box[1] for c in cars)
        x1 = max(c.box[0] + c.box[2] for c in cars)
        y1 = max(c.box[1] + c.box[3] for c in cars)
        drawn.append(("car", _jitter(rng, (x0, y0, x1 - x0, y1 - y0), habits)))
    for obj in scene.objects:
        if obj.row in grouped:
            continue
        if obj.box[2] * obj.box[3] < habits.skips_below_area:
            continue
        label = obj.label
        if label == "van":
            label = rng.choice(["car", "truck"])
        elif label == "truck" and rng.random() < habits.truck_as_car:
            label = "car"
        box = _jitter(rng, obj.box, habits)
        drawn.append((label, box))
        if rng.random() < habits.duplicate_rate:
            drawn.append((label, _jitter(rng, obj.box, habits)))
    return drawn


def _jitter(rng: random.Random, box, habits: LabelerHabits) -> tuple[float, float, float, float]:
    x, y, w, h = box
    grow = rng.uniform(*habits.looseness)
    x, y, w, h = x - w * grow, y - h * grow, w * (1 + 2 * grow), h * (1 + 2 * grow)
    j = habits.jitter
    x0 = max(0.0, x + rng.uniform(-j, j))
    y0 = max(0.0, y + rng.uniform(-j, j))
    x1 = min(float(WIDTH), max(x0 + 2.0, x + w + rng.uniform(-j, j)))
    y1 = min(float(HEIGHT), max(y0 + 2.0, y + h + rng.uniform(-j, j)))
    return (round(x0, 1), round(y0, 1), round(x1 - x0, 1), round(y1 - y0, 1))
