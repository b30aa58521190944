"""Selectors of the agreement pipeline: stored labels -> the engine's columnar inputs.

The boxes of a set of images are read in one query (values_list, no model instances) and turned
into a BoxBatch whose box rows map back to Box ids.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np
from django.contrib.auth import get_user_model
from django.db.models import Count, Q

from annotations.models import Annotation, Box
from projects.models import Image, InstructionVersion, LabelClass, Project
from quality.dbcopy import is_postgresql, query_matrix
from quality.engine import ENGINE_VERSION, AgreementParams, BoxBatch, LabelSet
from quality.engine.figures import FIGURES_VERSION
from quality.engine.habit_tables import EVIDENCE_VERSION
from quality.engine.near_duplicates import PHASH_BANDS, near_matches, near_twins
from quality.models import ConsensusBox, ImageAgreement

SUBMITTED_LABELS = Q(kind=Annotation.Kind.LABEL, status=Annotation.Status.SUBMITTED)


@dataclass(frozen=True, eq=False)
class LabelBatch:
    """Submitted label sets of some images of one project, as the engine reads them.

    Image ``i`` of the batch is ``image_ids[i]``; box row ``r`` is Box ``box_ids[r]``.
    ``complete[i]``: the image has its project's labelers_per_image submitted label sets.
    ``digests[i]``: digest of image i's label sets, the engine parameters and its version.
    Per label set, in the batch's order (``batch.set_image``/``set_labeler``):
    ``set_instruction_version`` (version number, 0 for none) and ``set_active_seconds``.
    """

    project: Project
    params: AgreementParams
    image_ids: np.ndarray
    phashes: list[int | None]
    complete: np.ndarray
    digests: list[str]
    batch: BoxBatch
    box_ids: np.ndarray
    box_class_ids: np.ndarray
    labeler_ids: dict[str, int]
    class_ids: dict[str, int]
    set_instruction_version: np.ndarray
    set_active_seconds: np.ndarray

    def labeler_id(self, code: int) -> int:
        return self.labeler_ids[self.batch.labeler_names[code]]


def project_params(project: Project) -> AgreementParams:
    return AgreementParams(match_iou=project.match_iou, low_iou=project.low_iou)


def params_as_dict(params: AgreementParams) -> dict:
    return {
        "match_iou": params.match_iou,
        "low_iou": params.low_iou,
        "group_cover": params.group_cover,
        "quorum": params.quorum,
    }


def complete_image_ids(*, project: Project) -> list[int]:
    return list(
        Annotation.objects.filter(SUBMITTED_LABELS, image__project_id=project.pk)
        .values("image_id")
        .order_by()
        .annotate(n=Count("id"))
        .filter(n__gte=project.labelers_per_image)
        .values_list("image_id", flat=True)
    )


def project_image_ids_to_assess(*, project_id: int) -> list[int]:
    """Images a recompute visits: the complete ones, and any assessed before (to refresh them)."""
    project = Project.objects.only("labelers_per_image").get(pk=project_id)
    assessed = ImageAgreement.objects.filter(image__project_id=project_id).values_list(
        "image_id", flat=True
    )
    return sorted(set(complete_image_ids(project=project)) | set(assessed))


def images_labels(*, image_ids) -> list[LabelBatch]:
    """The submitted label sets of these images, one LabelBatch per project.

    Five queries whatever the number of boxes: images, projects, label sets with their boxes
    (one LEFT JOIN: a label set with no box is a row with a null box), labelers, classes.
    """
    images = list(
        Image.objects.filter(pk__in=list(image_ids))
        .order_by("pk")
        .values_list("pk", "project_id", "phash")
    )
    if not images:
        return []
    projects = Project.objects.in_bulk({project_id for _, project_id, _ in images})
    table = _label_rows([pk for pk, _, _ in images])
    usernames = dict(
        get_user_model()
        .objects.filter(pk__in=np.unique(table[:, 1]).astype(np.int64).tolist())
        .values_list("pk", "username")
    )
    classes = list(
        LabelClass.objects.filter(project_id__in=projects).values_list("pk", "project_id", "name")
    )
    out = []
    for project_id, project in sorted(projects.items()):
        mine = [(pk, phash) for pk, p, phash in images if p == project_id]
        class_names = {pk: name for pk, p, name in classes if p == project_id}
        out.append(_image_labels(project, mine, table, usernames, class_names))
    return out


LABEL_COLUMNS = [
    "image_id",
    "labeler_id",
    "instruction_version__number",
    "active_seconds",
    "boxes__id",
    "boxes__label_class_id",
    "boxes__x",
    "boxes__y",
    "boxes__width",
    "boxes__height",
]


def _label_rows(image_ids: list[int]) -> np.ndarray:
    """The submitted label sets of these images with their boxes, as a float64 matrix.

    Columns as LABEL_COLUMNS; sorted by image, labeler, box id; a label set without boxes is
    one row whose box columns are NaN; no instruction version is NaN. On PostgreSQL through
    binary COPY (a third of the ORM's time on a 12,000-box chunk).
    """
    if not is_postgresql():
        rows = list(
            Annotation.objects.filter(SUBMITTED_LABELS, image_id__in=image_ids)
            .order_by("image_id", "labeler_id", "boxes__id")
            .values_list(*LABEL_COLUMNS)
        )
        return np.array(rows, dtype=np.float64).reshape(-1, len(LABEL_COLUMNS))
    annotation, box = Annotation._meta.db_table, Box._meta.db_table
    version = InstructionVersion._meta.db_table
    table = query_matrix(
        f"""SELECT a.image_id::float8, a.labeler_id::float8, COALESCE(v.number, -1)::float8,
                a.active_seconds::float8, COALESCE(b.id, -1)::float8,
                COALESCE(b.label_class_id, -1)::float8, COALESCE(b.x, 0)::float8,
                COALESCE(b.y, 0)::float8, COALESCE(b.width, 0)::float8,
                COALESCE(b.height, 0)::float8
            FROM {annotation} a
            LEFT JOIN {box} b ON b.annotation_id = a.id
            LEFT JOIN {version} v ON v.id = a.instruction_version_id
            WHERE a.image_id = ANY(%s) AND a.kind = %s AND a.status = %s
            ORDER BY a.image_id, a.labeler_id, b.id""",
        [image_ids, Annotation.Kind.LABEL, Annotation.Status.SUBMITTED],
        len(LABEL_COLUMNS),
    )
    table[table[:, 2] < 0, 2] = np.nan
    table[table[:, 4] < 0, 4:] = np.nan
    return table


def _image_labels(project, images, table, usernames, class_names) -> LabelBatch:
    image_ids = np.array([pk for pk, _ in images], dtype=np.int64)
    mine = np.isin(table[:, 0].astype(np.int64), image_ids)
    if not mine.all():
        table = table[mine]
    params = project_params(project)
    n = len(table)
    row_image = np.searchsorted(image_ids, table[:, 0].astype(np.int64))
    row_labeler = table[:, 1].astype(np.int64)
    row_version = np.nan_to_num(table[:, 2]).astype(np.int64)
    row_seconds = table[:, 3]
    has_box = ~np.isnan(table[:, 4])
    box_ids = table[has_box, 4].astype(np.int64)
    box_class = table[has_box, 5].astype(np.int64)
    xywh = table[has_box, 6:10]

    # Labeler codes are ranks of the usernames, the order the engine keeps label sets in.
    labeler_user_ids = sorted(set(row_labeler.tolist()), key=usernames.__getitem__)
    labeler_names = [usernames[pk] for pk in labeler_user_ids]
    code_lookup = np.zeros(max(labeler_user_ids, default=0) + 1, dtype=np.int64)
    code_lookup[labeler_user_ids] = np.arange(len(labeler_user_ids))
    row_code = code_lookup[row_labeler]
    label_names = sorted(set(class_names.values()))
    code_of_name = {name: i for i, name in enumerate(label_names)}
    class_lookup = np.full(max(class_names, default=0) + 1, -1, dtype=np.int64)
    for pk, name in class_names.items():
        class_lookup[pk] = code_of_name[name]
    box_label = class_lookup[box_class]

    # Label sets: one per (image, labeler); rows are sorted so the first row of each is its own.
    first = np.ones(n, dtype=bool)
    first[1:] = (row_image[1:] != row_image[:-1]) | (row_labeler[1:] != row_labeler[:-1])
    set_image, set_code = row_image[first], row_code[first]
    batch = BoxBatch.from_arrays(
        row_image[has_box],
        row_code[has_box],
        xywh,
        box_label,
        labeler_names=labeler_names,
        label_names=label_names,
        n_images=len(image_ids),
        label_sets=(set_image, set_code),
    )
    set_order = np.argsort(set_image * max(len(labeler_names), 1) + set_code, kind="stable")
    return LabelBatch(
        project=project,
        params=params,
        image_ids=image_ids,
        phashes=[phash for _, phash in images],
        complete=np.bincount(set_image, minlength=len(image_ids)) >= project.labelers_per_image,
        digests=_digests(len(image_ids), row_image, row_labeler, has_box, table, params),
        batch=batch,
        box_ids=box_ids,
        box_class_ids=box_class,
        labeler_ids=dict(zip(labeler_names, labeler_user_ids, strict=True)),
        class_ids={name: pk for pk, name in class_names.items()},
        set_instruction_version=row_version[first][set_order],
        set_active_seconds=row_seconds[first][set_order],
    )


def _digests(n_images, row_image, row_labeler, has_box, table, params) -> list[str]:
    """Per image: blake2b of its label sets and boxes, the parameters, the engine version and
    the versions of the figures and habit evidence stored with the result (another one:
    assessed again)."""
    salt = repr(
        (ENGINE_VERSION, FIGURES_VERSION, EVIDENCE_VERSION, sorted(params_as_dict(params).items()))
    ).encode()
    labelers = np.ascontiguousarray(row_labeler)
    boxes = np.ascontiguousarray(table[has_box][:, [1, 4, 5, 6, 7, 8, 9]])
    set_ptr = np.searchsorted(row_image, np.arange(n_images + 1))
    box_ptr = np.searchsorted(row_image[has_box], np.arange(n_images + 1))
    out = []
    for i in range(n_images):
        h = hashlib.blake2b(salt, digest_size=16)
        h.update(labelers[set_ptr[i] : set_ptr[i + 1]].tobytes())
        h.update(boxes[box_ptr[i] : box_ptr[i + 1]].tobytes())
        out.append(h.hexdigest())
    return out


def stored_digests(*, image_ids) -> dict[int, str]:
    return dict(
        ImageAgreement.objects.filter(image_id__in=list(image_ids)).values_list(
            "image_id", "input_digest"
        )
    )


def instruction_version_numbers(*, project: Project) -> dict[int, int]:
    return dict(InstructionVersion.objects.filter(project=project).values_list("number", "pk"))


def _consensus_counts(image_filter: Q) -> dict[int, dict[str, int]]:
    counts: dict[int, dict[str, int]] = {}
    rows = (
        ConsensusBox.objects.filter(image_filter)
        .values("image_id", "label_class__name")
        .order_by()
        .annotate(n=Count("id"))
        .values_list("image_id", "label_class__name", "n")
    )
    for image_id, name, n in rows:
        counts.setdefault(image_id, {})[name or "undecided"] = n
    return counts


PHASH_BAND_FIELDS = [f"phash_band_{k}" for k in range(len(PHASH_BANDS))]


def near_duplicate_candidates(*, image_ids):
    """Per project: (project id, the given images that are assessed and hashed, items), where
    items are (image id, phash, consensus class counts) of those images and of every assessed
    image of the project whose hash is within NEAR_DUPLICATE_BITS bits of one of them.

    The candidates are read through the band index (Image.phash_band_k: one equality probe
    per band), then checked exactly: what is read is the images that share a band with the
    given ones, never the project's hashes.
    """
    rows = list(
        Image.objects.filter(pk__in=list(image_ids), agreement__isnull=False, phash__isnull=False)
        .order_by("pk")
        .values_list("project_id", "pk", "phash", *PHASH_BAND_FIELDS)
    )
    out = []
    for project_id in sorted({row[0] for row in rows}):
        mine = [row for row in rows if row[0] == project_id]
        # One probe per band, united: an OR of the five let the planner read the project's
        # rows through its project index when its statistics were off.
        probes = [
            Image.objects.filter(
                project_id=project_id,
                agreement__isnull=False,
                **{f"{field}__in": sorted({row[3 + k] for row in mine})},
            )
            .order_by()
            .values_list("pk", "phash")
            for k, field in enumerate(PHASH_BAND_FIELDS)
        ]
        found = list(probes[0].union(*probes[1:]))
        hashes = np.array([h for _, h in found], dtype=np.int64).view(np.uint64)
        queries = np.array([row[2] for row in mine], dtype=np.int64).view(np.uint64)
        near = np.flatnonzero(near_matches(hashes, queries)).tolist()
        counts = _consensus_counts(Q(image_id__in=[found[k][0] for k in near]))
        items = sorted((found[k][0], found[k][1], counts.get(found[k][0], {})) for k in near)
        out.append((project_id, [row[1] for row in mine], items))
    return out


def project_near_duplicate_items(*, project_id: int) -> list[tuple[int, int, dict[str, int]]]:
    """The assessed images of the project whose hash is within NEAR_DUPLICATE_BITS bits of
    another's, with their consensus class counts: what near_duplicate_conflicts needs.

    One read of the project's hashes (a recompute visits every image anyway), grouped by band
    in memory. Images with no near twin cannot be in a conflict, so the engine gets the few
    that have one (hundreds in 100,000), and consensus counts are read for those only.
    """
    rows = list(
        ImageAgreement.objects.filter(image__project_id=project_id, image__phash__isnull=False)
        .order_by("image_id")
        .values_list("image_id", "image__phash")
    )
    hashes = np.array([h for _, h in rows], dtype=np.int64).view(np.uint64)
    near = np.flatnonzero(near_twins(hashes)).tolist()
    ids = [rows[k][0] for k in near]
    counts = _consensus_counts(Q(image_id__in=ids))
    return [(rows[k][0], rows[k][1], counts.get(rows[k][0], {})) for k in near]


def adjudicated_label_sets(*, project: Project):
    """Images with a lead's adjudication: (labelers' LabelSets per image, the adjudication as a
    LabelSet per image, username -> user id). Labels are class names."""
    adjudications = list(
        Annotation.objects.filter(image__project=project, kind=Annotation.Kind.ADJUDICATION)
        .order_by("image_id", "boxes__id")
        .values_list(
            "image_id",
            "boxes__label_class__name",
            "boxes__x",
            "boxes__y",
            "boxes__width",
            "boxes__height",
        )
    )
    if not adjudications:
        return [], [], {}
    references: dict[int, list] = {}
    for image_id, name, *xywh in adjudications:
        references.setdefault(image_id, [])
        if name is not None:
            references[image_id].append((name, xywh))
    groups = images_labels(image_ids=sorted(references))
    images, refs, labeler_ids = [], [], {}
    for labels in groups:
        batch = labels.batch
        labeler_ids |= labels.labeler_ids
        for i, image_id in enumerate(labels.image_ids.tolist()):
            sets = []
            for s in np.flatnonzero(batch.set_image == i).tolist():
                rows = np.flatnonzero(batch.box_set == s)
                sets.append(
                    LabelSet(
                        batch.labeler_names[batch.set_labeler[s]],
                        batch.xywh[rows],
                        [batch.label_names[c] for c in batch.label[rows].tolist()],
                    )
                )
            boxes = references[image_id]
            images.append(sets)
            refs.append(
                LabelSet(
                    "reference",
                    np.array([b for _, b in boxes], dtype=float).reshape(-1, 4),
                    [name for name, _ in boxes],
                )
            )
    return images, refs, labeler_ids
