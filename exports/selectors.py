"""Rows an export is made of, streamed from the database in image order.

An export never holds the dataset in memory: images and boxes come from two (or three) queries,
each ordered by image id and read a chunk at a time (`stream_rows`: a server-side cursor on
PostgreSQL), and are merged image by image.

Which images are exported (the rule that keeps "labeled as empty" apart from "not labeled"):

- consensus: images the agreement pipeline has assessed (an ImageAgreement row exists) or the
  lead adjudicated. With complete_only (the default) the image must also have all its
  `labelers_per_image` submitted label sets (adjudicated images always count as complete). An
  assessed image with no consensus boxes is exported as *empty*. An image whose consensus holds
  a class tie (a ConsensusBox without a class) is *withheld*, not exported without that object:
  exporting it would teach a model that the object is background. Its count is in
  `ExportQuery.withheld_ties()` and the data card. Where the lead adjudicated (a submitted
  Annotation of kind=adjudication), the adjudicated boxes replace the consensus.
- adjudicated: only images with a submitted adjudication; their boxes are the lead's.
- raw: images with at least one submitted label set (all `labelers_per_image` of them with
  complete_only); every labeler's submitted boxes, named. A labeler who submitted no boxes is
  listed on the image (COCO `rater_list`) with no annotations.
- gold: the gold images (gold app) with the true boxes the lead set; the only source where
  anything of gold images shows (labelers' answers on them are kind "gold": in no source).

Filters: min_agreement keeps images whose ImageAgreement.score is at least the value
(adjudicated images pass: the lead settled them); exclude_flagged drops images with an open
flag; min_instruction_version keeps images whose every submitted label set was made under that
instruction version or a later one (a label set without a recorded version counts as older); classes keeps only boxes of those classes (an image whose boxes are all of other classes is
then exported as empty for the selected classes, which is what "no object of these classes" means).
"""

import heapq
import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from functools import cached_property
from operator import itemgetter

from django.db import connections
from django.db.models import Exists, F, IntegerField, OuterRef, Q, Value

from annotations.models import Annotation, Box
from annotations.selectors import submitted_label_sets_count
from concord.params import id_value
from exports.names import ExportNames, project_export_names
from exports.params import ExportParamError, ExportSpec
from exports.splits import Split, split_assign
from gold.models import GoldBox
from projects.instructions import instructions_current
from projects.models import Image, LabelClass, Project
from quality.models import ConsensusBox, Flag

CHUNK_SIZE = 5000

# A box row: (image_id, class_id, x, y, width, height, labeler, support, origin)
BoxRow = tuple
_BOX_IMAGE = itemgetter(0)


@dataclass(frozen=True)
class ExportClass:
    id: int
    name: str
    index: int  # 0-based position among the exported classes (the YOLO class number)


@dataclass(frozen=True)
class ExportImage:
    id: int
    file_name: str  # the uploaded name, unique in the project (exports/names.py)
    original_name: str
    width: int
    height: int
    agreement: float | None
    adjudicated: bool
    storage_name: str
    labelers: tuple[str, ...] = ()  # raw source: who submitted a label set for this image
    label_stem: str = ""  # what its label files are named: file_name before the last dot
    subset: str = "default"  # train, val or test with a split


class ExportQuery:
    """The images and boxes of one export of one project, as streams ordered by image id."""

    def __init__(
        self,
        *,
        project: Project,
        spec: ExportSpec,
        text_in_database: bool | None = None,
        subset: str | None = None,
        parent: "ExportQuery | None" = None,
    ):
        """subset: only the images of that subset of the spec's split (from `parent`'s split)."""
        self.project = project
        self.spec = spec
        self.classes = _resolve_classes(project, spec.classes)
        _check_instruction_version(project, spec.min_instruction_version)
        self._class_ids = [c.id for c in self.classes] if spec.classes else None
        self._text_in_database = text_in_database
        self.subset = subset
        self._parent = parent

    def for_subset(self, subset: str) -> "ExportQuery":
        """The same export restricted to one subset of its split (names and split computed once)."""
        return ExportQuery(
            project=self.project,
            spec=self.spec,
            text_in_database=self._text_in_database,
            subset=subset,
            parent=self,
        )

    @cached_property
    def names(self) -> ExportNames:
        if self._parent is not None:
            return self._parent.names
        return project_export_names(project=self.project, using=self.db)

    @cached_property
    def split(self) -> Split | None:
        """The split of the exported images, when the spec asks for one."""
        if self._parent is not None:
            return self._parent.split
        if self.spec.split is None:
            return None
        ids = list(self.image_queryset().order_by("pk").values_list("pk", flat=True))
        return split_assign(image_ids=ids, spec=self.spec.split, using=self.db)

    @property
    def subsets(self) -> tuple[str, ...]:
        return self.spec.split.subsets if self.spec.split else ("default",)

    def subset_of(self, image_id: int) -> str:
        split = self.split
        return "default" if split is None else split.subset_of[image_id]

    @property
    def text_in_database(self) -> bool:
        """Whether PostgreSQL writes the COCO and YOLO text (exports/sql_text.py).

        The default on PostgreSQL 14 and later; False forces the Python writers, which every
        other database uses, so tests can compare the two on the same rows.
        """
        if self._text_in_database is not None:
            return self._text_in_database
        connection = connections[self.db]
        return connection.vendor == "postgresql" and connection.pg_version >= 140000

    @property
    def db(self) -> str:
        """The database alias the export reads."""
        return self.image_queryset().db

    # -- images ---------------------------------------------------------------------------------

    def _annotated_images(self):
        adjudication = Annotation.objects.filter(
            image=OuterRef("pk"),
            kind=Annotation.Kind.ADJUDICATION,
            status=Annotation.Status.SUBMITTED,
        )
        tie = ConsensusBox.objects.filter(image=OuterRef("pk"), label_class__isnull=True)
        images = Image.objects.filter(project=self.project).annotate(
            adjudicated=Exists(adjudication),
            score=F("agreement__score"),
            tied=Exists(tie),
        )
        if self.spec.source == "raw":
            images = images.annotate(submitted_sets=submitted_label_sets_count())
        return images

    def _eligible(self, qs, *, with_ties_withheld: bool = True):
        spec, needed = self.spec, self.project.labelers_per_image
        if spec.source == "adjudicated":
            qs = qs.filter(adjudicated=True)
        elif spec.source == "gold":
            qs = qs.filter(gold__isnull=False)
        elif spec.source == "raw":
            qs = qs.filter(submitted_sets__gte=needed if spec.complete_only else 1)
        else:
            assessed = Q(agreement__isnull=False)
            if with_ties_withheld:
                assessed &= Q(tied=False)
            if spec.complete_only:
                # The pipeline stores how many label sets it assessed; it drops the row when an
                # image stops being complete, so this is the submitted count without a subquery.
                assessed &= Q(agreement__labeler_count__gte=needed)
            qs = qs.filter(Q(adjudicated=True) | assessed)
        if spec.min_agreement is not None:
            passes = Q(score__gte=spec.min_agreement)
            qs = qs.filter(passes if spec.source == "raw" else passes | Q(adjudicated=True))
        if spec.min_instruction_version is not None:
            older = Annotation.objects.filter(
                Q(instruction_version__isnull=True)
                | Q(instruction_version__number__lt=spec.min_instruction_version),
                image=OuterRef("pk"),
                kind=Annotation.Kind.LABEL,
                status=Annotation.Status.SUBMITTED,
            )
            qs = qs.filter(~Exists(older))
        if spec.exclude_flagged:
            open_flag = Flag.objects.filter(image=OuterRef("pk"), status=Flag.Status.OPEN)
            qs = qs.filter(~Exists(open_flag))
        return qs

    def image_queryset(self):
        qs = self._eligible(self._annotated_images())
        if self.subset is not None:
            wanted = [pk for pk, s in self.split.subset_of.items() if s == self.subset]
            # An empty subset still compiles to SQL (the database writers need its text).
            qs = qs.filter(Q(pk__in=wanted) if wanted else Q(pk__isnull=True))
        return qs

    def image_ids(self):
        """A subquery of the exported image ids, for filtering other tables."""
        return self.image_queryset().order_by().values("pk")

    def image_count(self) -> int:
        return self.image_queryset().count()

    def withheld_ties(self) -> int:
        """Images that pass every filter but are held back because their consensus has a class tie."""
        if self.spec.source != "consensus":
            return 0
        candidates = self._eligible(self._annotated_images(), with_ties_withheld=False)
        return candidates.filter(tied=True, adjudicated=False).count()

    def images(self) -> Iterator[ExportImage]:
        rows = stream_rows(
            self.image_queryset()
            .order_by("pk")
            .values_list("pk", "original_name", "file", "width", "height", "score", "adjudicated")
        )
        name_of, subset_of = self.names.of, self.subset_of
        if self.spec.source != "raw":
            for pk, original, stored, width, height, score, adjudicated in rows:
                file_name, stem = name_of(pk, original)
                yield ExportImage(
                    pk, file_name, original, width, height, score, adjudicated, stored,
                    (), stem, subset_of(pk),
                )  # fmt: skip
            return
        label_sets = iter(self._label_sets())
        pending = next(label_sets, None)
        for pk, original, stored, width, height, score, adjudicated in rows:
            names = []
            while pending is not None and pending[0] <= pk:
                if pending[0] == pk:
                    names.append(pending[1])
                pending = next(label_sets, None)
            file_name, stem = name_of(pk, original)
            yield ExportImage(
                pk, file_name, original, width, height, score, adjudicated, stored,
                tuple(names), stem, subset_of(pk),
            )  # fmt: skip

    def _label_sets(self):
        return stream_rows(
            Annotation.objects.filter(
                image__in=self.image_ids(),
                kind=Annotation.Kind.LABEL,
                status=Annotation.Status.SUBMITTED,
            )
            .order_by("image_id", "labeler__username")
            .values_list("image_id", "labeler__username")
        )

    # -- boxes ----------------------------------------------------------------------------------

    def boxes(self) -> Iterator[BoxRow]:
        """Every exported box, ordered by image id (then labeler, then box order)."""
        if self.spec.source == "raw":
            return self._labeler_boxes(Annotation.Kind.LABEL, self.image_ids(), "raw")
        if self.spec.source == "gold":
            return stream_rows(self._gold_queryset())
        adjudicated = self._labeler_boxes(
            Annotation.Kind.ADJUDICATION,
            self.image_queryset().filter(adjudicated=True).order_by().values("pk"),
            "adjudicated",
        )
        if self.spec.source == "adjudicated":
            return adjudicated
        first = next(adjudicated, None)
        if first is None:
            return self._consensus_boxes()
        return heapq.merge(
            self._consensus_boxes(), itertools.chain([first], adjudicated), key=_BOX_IMAGE
        )

    def _consensus_boxes(self):
        return stream_rows(self._consensus_queryset())

    def _consensus_queryset(self):
        qs = ConsensusBox.objects.filter(
            image__in=self.image_queryset().filter(adjudicated=False).order_by().values("pk"),
            label_class__isnull=False,
        )
        if self._class_ids is not None:
            qs = qs.filter(label_class_id__in=self._class_ids)
        return (
            qs.order_by("image_id", "index")
            .annotate(labeler=Value(""), origin=Value("consensus"))
            .values_list(
                "image_id",
                "label_class_id",
                "x",
                "y",
                "width",
                "height",
                "labeler",
                "support",
                "origin",
            )  # fmt: skip
        )

    def _gold_queryset(self):
        qs = GoldBox.objects.filter(gold__image__in=self.image_ids())
        if self._class_ids is not None:
            qs = qs.filter(label_class_id__in=self._class_ids)
        return (
            qs.order_by("gold__image_id", "id")
            .annotate(
                labeler=Value(""),
                support=Value(None, output_field=IntegerField()),
                origin=Value("gold"),
            )
            .values_list(
                "gold__image_id",
                "label_class_id",
                "x",
                "y",
                "width",
                "height",
                "labeler",
                "support",
                "origin",
            )  # fmt: skip
        )

    def _labeler_boxes(self, kind: str, image_ids, origin: str):
        return stream_rows(self._labeler_queryset(kind, image_ids, origin))

    def _labeler_queryset(self, kind: str, image_ids, origin: str):
        qs = Box.objects.filter(
            annotation__image__in=image_ids,
            annotation__kind=kind,
            annotation__status=Annotation.Status.SUBMITTED,
        )
        if self._class_ids is not None:
            qs = qs.filter(label_class_id__in=self._class_ids)
        return (
            qs.order_by("annotation__image_id", "annotation__labeler__username", "id")
            .annotate(support=Value(None, output_field=IntegerField()), origin=Value(origin))
            .values_list(
                "annotation__image_id",
                "label_class_id",
                "x",
                "y",
                "width",
                "height",
                "annotation__labeler__username",
                "support",
                "origin",
            )  # fmt: skip
        )

    # -- images with their boxes ----------------------------------------------------------------

    def groups(
        self, progress: Callable[[int], None] | None = None
    ) -> Iterator[tuple[ExportImage, list[BoxRow]]]:
        """Each exported image with its boxes (an empty list for an image labeled empty)."""
        boxes = iter(self.boxes())
        pending = next(boxes, None)
        for image in self.images():
            mine = []
            while pending is not None and pending[0] <= image.id:
                if pending[0] == image.id:
                    mine.append(pending)
                pending = next(boxes, None)
            yield image, mine
            if progress is not None:
                progress(1)


def stream_rows(queryset) -> Iterator[tuple]:
    """The rows of a values_list queryset, a chunk at a time.

    On PostgreSQL through a server-side cursor using the binary protocol (about twice as fast to
    read as Django's text-protocol iterator; this is the per-box hot path of every export);
    elsewhere through `.iterator(chunk_size)`.
    """
    from django.db import connections

    connection = connections[queryset.db]
    if connection.vendor != "postgresql" or connection.settings_dict.get(
        "DISABLE_SERVER_SIDE_CURSORS"
    ):
        yield from queryset.iterator(chunk_size=CHUNK_SIZE)
        return
    sql, params = queryset.query.sql_with_params()
    connection.ensure_connection()
    name = f"concord_export_{id(queryset):x}"
    withhold = connection.get_autocommit()  # as Django's own iterator does outside a transaction
    with connection.connection.cursor(name=name, binary=True, withhold=withhold) as cursor:
        cursor.itersize = CHUNK_SIZE
        cursor.execute(sql, params)
        while rows := cursor.fetchmany(CHUNK_SIZE):
            yield from rows


def _check_instruction_version(project: Project, number: int | None) -> None:
    if number is None:
        return
    current = instructions_current(project=project)
    newest = current.number if current else 0
    if number > newest:
        raise ExportParamError(
            "min_instruction_version",
            f"min_instruction_version: this project has instruction versions 1 to {newest}; "
            f"got {number}."
            if newest
            else "min_instruction_version: this project has no instructions yet.",
        )


def _resolve_classes(project: Project, wanted: tuple[str, ...]) -> list[ExportClass]:
    rows = list(
        LabelClass.objects.filter(project=project).order_by("order", "id").values_list("id", "name")
    )
    if wanted:
        by_name = {name.lower(): pk for pk, name in rows}
        ids = {pk for pk, _ in rows}
        chosen, unknown = set(), []
        for item in wanted:
            if id_value(item) in ids:
                chosen.add(id_value(item))
            elif item.lower() in by_name:
                chosen.add(by_name[item.lower()])
            else:
                unknown.append(item)
        if unknown:
            names = ", ".join(name for _, name in rows) or "none yet"
            raise ExportParamError(
                "classes",
                f"classes: no class named {', '.join(unknown)} in this project; use names or ids of its "
                f"classes: {names}.",
            )
        rows = [(pk, name) for pk, name in rows if pk in chosen]
    return [ExportClass(pk, name, index) for index, (pk, name) in enumerate(rows)]
