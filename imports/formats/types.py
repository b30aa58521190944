"""What a parser returns: the label sets of one label file (or dataset), columnar.

Parsers are pure functions of the file's bytes (no database): they say which images the file
labels, by the names it gives them, who labeled each (when the file names its raters), and the
boxes, as numpy columns. Matching images, raters and classes to the project is the services'
job (imports.services).

"Nothing here" and "not labeled" stay apart: an image the file lists with no box is a label
set with no box (an empty YOLO .txt, a VOC XML without objects, a COCO image without
annotations); an image the file does not mention has no label set at all.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


class LabelFileError(ValueError):
    """A label file that cannot be read; the message says what is wrong, in words a person can
    act on (which entry, which value). The whole file is refused."""


@dataclass(frozen=True)
class ImageRef:
    """An image as a label file names it.

    ``name``: a path or a file name ("" when the file only has an id); ``stem_only``: the name
    has no extension to trust (YOLO names label files after the image's stem); ``width`` and
    ``height``: the size the file says the image has (None when it does not say);
    ``concord_id``: Concord's own image id (a COCO results file from Concord's export).
    """

    name: str
    width: int | None = None
    height: int | None = None
    stem_only: bool = False
    concord_id: int | None = None


@dataclass
class LabelSets:
    """Label sets of one file. Per label set: ``set_image`` (index into ``images``) and
    ``set_rater`` (index into ``raters``; -1: the import's labeler). Per box: ``box_set``,
    ``xywh`` (top-left x, y, width, height; pixels, or fractions of the image's size when
    ``fractions``), ``box_label`` (index into ``labels``) and ``score`` (NaN: none).
    ``notes``: what the file held that was left out, and why."""

    images: list[ImageRef]
    set_image: np.ndarray
    set_rater: np.ndarray
    raters: list[str]
    box_set: np.ndarray
    xywh: np.ndarray
    box_label: np.ndarray
    labels: list[str]
    score: np.ndarray
    fractions: bool = False
    notes: list[str] = field(default_factory=list)

    def boxes_kept(self, keep: np.ndarray) -> LabelSets:
        """The same label sets with only the boxes where ``keep`` is true."""
        return LabelSets(
            images=self.images,
            set_image=self.set_image,
            set_rater=self.set_rater,
            raters=self.raters,
            box_set=self.box_set[keep],
            xywh=self.xywh[keep],
            box_label=self.box_label[keep],
            labels=self.labels,
            score=self.score[keep],
            fractions=self.fractions,
            notes=self.notes,
        )

    @property
    def set_count(self) -> int:
        return len(self.set_image)

    @property
    def box_count(self) -> int:
        return len(self.box_set)


class LabelSetsBuilder:
    """Collects label sets and boxes one at a time, then builds the columns (and checks them)."""

    def __init__(self, *, fractions: bool = False):
        self.fractions = fractions
        self.images: list[ImageRef] = []
        self._set_image: list[int] = []
        self._set_rater: list[int] = []
        self._raters: dict[str, int] = {}
        self._labels: dict[str, int] = {}
        self._box_set: list[int] = []
        self._box_label: list[int] = []
        self._coords: list[float] = []
        self._score: list[float] = []
        self._degenerate = 0
        self.notes: list[str] = []

    def image(self, ref: ImageRef) -> int:
        self.images.append(ref)
        return len(self.images) - 1

    def label_set(self, image: int, rater: str | None = None) -> int:
        """A label set of image ``image`` (index) by ``rater`` (None: the import's labeler)."""
        code = -1
        if rater is not None:
            code = self._raters.setdefault(rater, len(self._raters))
        self._set_image.append(image)
        self._set_rater.append(code)
        return len(self._set_image) - 1

    def box(self, label_set: int, label: str, x, y, w, h, score=math.nan, *, where: str) -> None:
        """A box; ``where`` names it in an error ("annotation 12", "line 3 of a.txt")."""
        try:
            values = [float(v) for v in (x, y, w, h)]
            score = math.nan if score is None else float(score)
        except (TypeError, ValueError):
            raise LabelFileError(f"{where}: the box's numbers are not numbers.") from None
        if not all(math.isfinite(v) for v in values) or math.isinf(score):
            raise LabelFileError(f"{where}: the box has a number that is not finite.")
        if values[2] <= 0 or values[3] <= 0:
            self._degenerate += 1
            return
        self._box_set.append(label_set)
        self._box_label.append(self._labels.setdefault(str(label), len(self._labels)))
        self._coords.extend(values)
        self._score.append(score)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def build(self) -> LabelSets:
        notes = list(self.notes)
        if self._degenerate:
            notes.append(
                f"{self._degenerate} box{'es' if self._degenerate != 1 else ''} with no width or "
                "height left out"
            )
        return LabelSets(
            images=self.images,
            set_image=np.array(self._set_image, dtype=np.int64),
            set_rater=np.array(self._set_rater, dtype=np.int64),
            raters=list(self._raters),
            box_set=np.array(self._box_set, dtype=np.int64),
            xywh=np.array(self._coords, dtype=np.float64).reshape(-1, 4),
            box_label=np.array(self._box_label, dtype=np.int64),
            labels=list(self._labels),
            score=np.array(self._score, dtype=np.float64),
            fractions=self.fractions,
            notes=notes,
        )


def plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"
