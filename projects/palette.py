"""Class colours and the keys the labeling page keeps for itself, in one place.

The colours are Okabe and Ito's (2008) eight, which people with every common colour-vision
deficiency tell apart; ordered so the first few contrast most on photographs (black last). The
labeling page also writes each class's name on its boxes, so colour is never the only cue. The
new-class form and the API default to the first colour no class of the project uses yet.
"""

from collections.abc import Iterable

CLASS_COLORS = (
    "#0072b2",  # blue
    "#e69f00",  # orange
    "#009e73",  # bluish green
    "#d55e00",  # vermillion
    "#cc79a7",  # reddish purple
    "#56b4e9",  # sky blue
    "#f0e442",  # yellow
    "#000000",  # black
)
DEFAULT_CLASS_COLOR = CLASS_COLORS[0]

# Keys of the labeling page that a class hotkey must not take: 0 nothing to label here,
# n submit and next, f fit the image, p previous image, x crosshair.
RESERVED_KEYS = frozenset("0nfpx")
HOTKEY_DIGITS = "123456789"


def class_color_unused(used: Iterable[str]) -> str:
    """The first palette colour not in `used`; once all are taken, they repeat in order."""
    taken = [color.lower() for color in used]
    for color in CLASS_COLORS:
        if color not in taken:
            return color
    return CLASS_COLORS[len(taken) % len(CLASS_COLORS)]


def hotkey_free(used: Iterable[str]) -> str:
    """The first digit 1-9 no class uses, or "" when all nine are taken."""
    taken = set(used)
    return next((d for d in HOTKEY_DIGITS if d not in taken and d not in RESERVED_KEYS), "")
