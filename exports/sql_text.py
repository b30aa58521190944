"""COCO and YOLO text written by PostgreSQL itself and streamed to Python through COPY.

Formatting a million boxes in Python took most of an export's time (f-strings, float repr, file
names). On PostgreSQL the export queries return finished text instead, one row per exported
image: its COCO image object, its annotation objects joined by ",\\n", or its YOLO label file.
Python only frames those bytes (JSON separators, zip entries). `COPY (...) TO STDOUT (FORMAT
binary)` streams rows while PostgreSQL produces them, so the database formats while Python writes,
and neither side holds more than a row.

The output is byte for byte what the Python writers (exports/coco.py, exports/yolo.py) make from
the same rows, as they still do on other databases; tests/exports/test_sql_text.py holds the two
side by side on PostgreSQL. What keeping them equal takes:

- COCO numbers are float8's own text: the shortest digits that read back to the same double, "400"
  for 400.0 (`extra_float_digits` 1, PostgreSQL's default, set for the session to be sure).
  `coco.json_number` prints Python floats the same way. (They differ only from 1e15 up, which no
  pixel coordinate reaches.)
- YOLO's six decimals must round the exact double as Python's `f"{v:.6f}"` does. `to_char` does
  (the C library's printf) but costs ~0.6 us a number; `_fixed6` prints round(v * 1e6) with
  integer text whenever that product is clearly away from a half (then both round alike) and
  leaves the rest, exact ties such as 1/128 among them, to to_char.
- JSON strings escape as json.dumps does (ASCII output, \\uXXXX, surrogate pairs): `_json_string`.
- File names are decided in Python (exports/names.py); the database takes the uploaded base name
  and the few exceptions from a literal: `_with_file_names`.
- Coordinates are rounded to 1/100 pixel as `coco.coord` does: round(v * 100) / 100 in doubles,
  ties to even (the C library's rint, as Python's round()).

Query shape: the exported images in id order, and per image a LATERAL subquery over its boxes
(an index scan; PostgreSQL cannot turn it into a hash join and a sort of every box). COCO numbers
annotations with a running count over the boxes in that order (an incremental sort within each
image); YOLO aggregates each label file inside the LATERAL.

The only bound parameters are Django's (the image eligibility SQL); ids and code constants are
written into the SQL as literals. psycopg binds parameters client-side, so no SQL text here may
contain a literal "%".
"""

import json
from collections.abc import Iterator

from django.contrib.auth import get_user_model
from django.db import connections

from annotations.models import Annotation, Box
from exports.names import ExportNames
from exports.selectors import ExportQuery
from gold.models import GoldBox, GoldImage
from projects.models import Image
from quality.models import ConsensusBox

IMAGES = Image._meta.db_table
CONSENSUS = ConsensusBox._meta.db_table
ANNOTATIONS = Annotation._meta.db_table
BOXES = Box._meta.db_table
USERS = get_user_model()._meta.db_table
SUBMITTED = f"'{Annotation.Status.SUBMITTED}'"
LABEL = f"'{Annotation.Kind.LABEL}'"
ADJUDICATION = f"'{Annotation.Kind.ADJUDICATION}'"
GOLD_BOXES, GOLD_IMAGES = GoldBox._meta.db_table, GoldImage._meta.db_table


# -- rows -------------------------------------------------------------------------------------


def coco_image_objects(query: ExportQuery) -> Iterator[bytes]:
    """One COCO image object per exported image, in image id order."""
    img_sql, params = _eligible_images(query, "score")
    rater_list = ""
    if query.spec.source == "raw":
        rater_list = rf"""
            || ', "rater_list": [' || coalesce((
                SELECT string_agg({_json_string("u.username")}, ', ' ORDER BY u.username)
                FROM {ANNOTATIONS} a JOIN {USERS} u ON u.id = a.labeler_id
                WHERE a.image_id = named.id AND a.kind = {LABEL} AND a.status = {SUBMITTED}
            ), '') || ']'"""
    images = f"""
        SELECT i.id, i.original_name, i.file, i.width, i.height, img.score
        FROM ({img_sql}) AS img (id, adjudicated, score) JOIN {IMAGES} i ON i.id = img.id
        ORDER BY i.id"""
    sql = rf"""
        SELECT '{{"id": ' || named.id || ', "file_name": ' || {_json_string("named.file_name")}
            || ', "width": ' || named.width || ', "height": ' || named.height
            || ', "original_name": ' || {_json_string("named.original_name")}
            || ', "agreement": ' || coalesce(named.score::text, 'null') {rater_list} || '}}'
        FROM {_with_file_names(images, query.names)} AS named
        ORDER BY named.id"""
    for (text,) in _copy_rows(query.db, sql, params, ["bytea"]):
        yield text


def coco_annotation_groups(query: ExportQuery) -> Iterator[bytes | None]:
    """Per exported image (id order): its annotation objects joined by ",\n", None when empty.

    Annotation ids count from 1 in export order: a running count over the boxes in image order,
    which skips the null rows of images without boxes.
    """
    img_sql, params = _eligible_images(query)
    boxes, keys = _image_boxes(query, coco=True)
    in_image = ", ".join(f"bx.{key}" for key in keys)
    sql = rf"""
        SELECT string_agg(obj, ',' || chr(10) ORDER BY {", ".join(keys)})
        FROM (
            SELECT img.id, {in_image},
                '{{"id": ' || count(bx.rest) OVER (
                    ORDER BY img.id, {in_image} ROWS UNBOUNDED PRECEDING) || bx.rest AS obj
            FROM ({img_sql}) AS img (id, adjudicated)
            LEFT JOIN LATERAL ({boxes}) AS bx ON true
        ) AS boxes
        GROUP BY id
        ORDER BY id"""
    for (text,) in _copy_rows(query.db, sql, params, ["bytea"]):
        yield text


def yolo_label_files(
    query: ExportQuery,
) -> Iterator[tuple[int, bytes, bytes, str | None, str | None]]:
    """Per exported image (per image and labeler for raw): the label file's stem and text.

    Rows are (image id, labeler name or None, label stem, text, image file name, stored image
    name; the names with include_images only), in image id order (then labeler name). Boxes are
    normalised and clipped as `yolo.yolo_lines` does.
    """
    img_sql, params = _eligible_images(query)
    if query.spec.source == "raw":
        # One file per submitted label set, its boxes from the label set alone.
        owners = f"""
            JOIN {ANNOTATIONS} a ON a.image_id = img.id AND a.kind = {LABEL}
                AND a.status = {SUBMITTED}
            JOIN {USERS} u ON u.id = a.labeler_id"""
        boxes = f"""
            SELECT b.id AS k, b.label_class_id AS class_id, b.x, b.y, b.width AS w,
                b.height AS h
            FROM {BOXES} b WHERE b.annotation_id = a.id{_class_filter(query, "b")}"""
        keys, who, labeler = ["k"], "named.labeler", ", u.username AS labeler"
    else:
        owners = ""
        boxes, keys = _image_boxes(query)
        who, labeler = "NULL::text", ""
    label_file = _yolo_label_file(boxes, keys, [c.id for c in query.classes])
    files = f"""
        SELECT i.id, i.original_name, i.file, coalesce(lf.text, '') AS text {labeler}
        FROM ({img_sql}) AS img (id, adjudicated) JOIN {IMAGES} i ON i.id = img.id {owners}
        LEFT JOIN LATERAL ({label_file}) AS lf ON true
        ORDER BY i.id {", u.username" if labeler else ""}"""
    # The image's names only when its file goes into the zip too.
    names = "named.file_name, named.file" if query.spec.include_images else "NULL, NULL"
    sql = rf"""
        SELECT named.id, {who}, named.label_stem, named.text, {names}
        FROM {_with_file_names(files, query.names, "named.labeler" if labeler else "")} AS named
        ORDER BY named.id {", named.labeler" if labeler else ""}"""
    yield from _copy_rows(query.db, sql, params, ["int8", "text", "text", "bytea", "text", "text"])


def _yolo_label_file(boxes: str, keys: list[str], class_ids: list[int]) -> str:
    """A LATERAL subquery: the YOLO label text of `boxes` (k..., class_id, x, y, w, h) in image `i`.

    As `yolo.yolo_lines`: clipped to the image, dropped when nothing is left, centre and size
    divided by the image size in the same order of operations (so the doubles are the same),
    six decimals by `_fixed6`. Both levels are fenced (OFFSET 0), so the clipped corners and the
    normalised values are computed once rather than once per use.
    """
    values = {
        "cx": "(c.x1 + c.x2) / 2 / c.width",
        "cy": "(c.y1 + c.y2) / 2 / c.height",
        "w": "(c.x2 - c.x1) / c.width",
        "h": "(c.y2 - c.y1) / c.height",
    }
    normalised = ", ".join(
        f"{expr} AS {name}, {expr} * 1000000::float8 AS t{name}" for name, expr in values.items()
    )
    line = " || ' ' || ".join(_fixed6(f"n.{name}", f"n.t{name}") for name in values)
    return rf"""
        SELECT string_agg(
            CASE WHEN n.visible THEN n.class_index || ' ' || {line} || chr(10) END,
            '' ORDER BY {", ".join(f"n.{key}" for key in keys)}) AS text
        FROM (
            SELECT {", ".join(f"c.{key}" for key in keys)}, c.class_index,
                c.x2 > c.x1 AND c.y2 > c.y1 AS visible, {normalised}
            FROM (
                SELECT {", ".join(f"bx.{key}" for key in keys)},
                    array_position({_ids(class_ids)}, bx.class_id) - 1 AS class_index,
                    i.width::float8 AS width, i.height::float8 AS height,
                    CASE WHEN bx.x > 0 THEN bx.x ELSE 0::float8 END AS x1,
                    CASE WHEN bx.y > 0 THEN bx.y ELSE 0::float8 END AS y1,
                    CASE WHEN bx.x + bx.w < i.width THEN bx.x + bx.w
                        ELSE i.width::float8 END AS x2,
                    CASE WHEN bx.y + bx.h < i.height THEN bx.y + bx.h
                        ELSE i.height::float8 END AS y2
                FROM ({boxes}) AS bx
                OFFSET 0
            ) AS c
            OFFSET 0
        ) AS n"""


def _fixed6(value: str, scaled: str) -> str:
    """SQL for f"{value:.6f}" (0 <= value <= 1), given the column scaled = value * 1e6.

    Python rounds the exact double. When `scaled` is more than 1e-6 away from a half, so does
    round(scaled) (the product's error is below 1.2e-10), printed as integer text. Otherwise
    (exact ties such as 1/128, common with whole or half pixels over 640 or 1280, and values
    that round to 1) to_char, which rounds the exact double with the C library's printf.
    """
    return (
        f"(CASE WHEN {scaled} < 999999::float8"
        f" AND abs({scaled} - floor({scaled}) - 0.5::float8) > 0.000001::float8"
        f" THEN '0.' || substr(({scaled}::int8 + 1000000)::text, 2)"
        f" ELSE to_char({value}, 'FM0.000000') END)"
    )


# -- SQL pieces -------------------------------------------------------------------------------


def _eligible_images(query: ExportQuery, *extra: str) -> tuple[str, list]:
    """The exported images as (id, adjudicated, *extra) in id order: the ORM's eligibility SQL."""
    qs = query.image_queryset().order_by("pk").values_list("pk", "adjudicated", *extra)
    sql, params = qs.query.sql_with_params()
    return sql, list(params)


def _image_boxes(query: ExportQuery, *, coco: bool = False) -> tuple[str, list[str]]:
    """A LATERAL subquery over the exported boxes of image `img`, and its sort keys.

    Columns: the keys, then class_id, x, y, w, h, or with `coco` the box's COCO object after its
    id ("rest": one column is cheaper to carry through the sort that numbers the boxes than
    six). consensus: the consensus boxes of an image the lead did not adjudicate, else the
    lead's boxes. adjudicated: the lead's. raw: every labeler's submitted boxes. gold: the gold
    image's true boxes. The order within an image is the Python path's: consensus index, or
    labeler name then box id (an image has one adjudication and one gold record, so the lead's
    boxes need the box id alone).
    """

    category = _ids([c.id for c in query.classes])

    def columns(alias: str, tail: str) -> str:
        if not coco:
            return (
                f"{alias}.label_class_id AS class_id, {alias}.x, {alias}.y,"
                f" {alias}.width AS w, {alias}.height AS h"
            )
        x, y, w, h = (_coord(f"{alias}.{c}") for c in ("x", "y", "width", "height"))
        return (
            f"""', "image_id": ' || img.id || ', "category_id": '"""
            f"""|| array_position({category}, {alias}.label_class_id)"""
            f"""|| ', "bbox": [' || {x} || ', ' || {y} || ', ' || {w} || ', ' || {h}"""
            f"""|| '], "area": ' || {_coord(f"{w} * {h}")}"""
            f"""|| ', "segmentation": []' || {tail} AS rest"""
        )

    def labeler_boxes(kind: str, origin: str, keys: str, condition: str = "") -> str:
        rater = _json_string("u.username")
        tail = f"""', "iscrowd": 0, "source": "{origin}", "rater": ' || {rater} || '}}'"""
        return f"""
            SELECT {keys}, {columns("b", tail)}
            FROM {ANNOTATIONS} a JOIN {USERS} u ON u.id = a.labeler_id
            JOIN {BOXES} b ON b.annotation_id = a.id{_class_filter(query, "b")}
            WHERE a.image_id = img.id AND a.kind = {kind} AND a.status = {SUBMITTED}{condition}"""

    source = query.spec.source
    if source == "raw":
        return labeler_boxes(LABEL, "raw", "u.username AS k1, b.id AS k2"), ["k1", "k2"]
    if source == "gold":
        gold_tail = """', "iscrowd": 0, "source": "gold"}'"""
        return (
            f"""
            SELECT gb.id AS k, {columns("gb", gold_tail)}
            FROM {GOLD_BOXES} gb JOIN {GOLD_IMAGES} g ON g.id = gb.gold_id
            WHERE g.image_id = img.id{_class_filter(query, "gb")}""",
            ["k"],
        )
    if source == "adjudicated":
        return labeler_boxes(ADJUDICATION, "adjudicated", "b.id AS k"), ["k"]
    consensus_tail = """', "iscrowd": 0, "source": "consensus"}'"""
    consensus = f"""
        SELECT cb.index::bigint AS k, {columns("cb", consensus_tail)}
        FROM {CONSENSUS} cb
        WHERE cb.image_id = img.id AND NOT img.adjudicated
            AND cb.label_class_id IS NOT NULL{_class_filter(query, "cb")}"""
    adjudicated = labeler_boxes(ADJUDICATION, "adjudicated", "b.id AS k", " AND img.adjudicated")
    return f"{consensus} UNION ALL {adjudicated}", ["k"]


def _coord(value: str) -> str:
    """SQL for `coco.coord(value)`: rounded to 1/100, ties to even, never "-0"."""
    return f"(round(({value}) * 100::float8) / 100::float8 + 0::float8)"


def _class_filter(query: ExportQuery, alias: str) -> str:
    if not query.spec.classes:
        return ""
    return f" AND {alias}.label_class_id = ANY({_ids([c.id for c in query.classes])})"


def _ids(ids: list[int]) -> str:
    """A bigint[] literal (ints only, so nothing to escape)."""
    return f"'{{{','.join(str(int(pk)) for pk in ids)}}}'::bigint[]"


def _with_file_names(rows: str, names: ExportNames, tiebreak: str = "") -> str:
    """`rows` (id, original_name, ...) plus their export `file_name` and `label_stem`.

    As exports/names.py: the uploaded name's last path component (backslashes are separators),
    its stem before the last dot (the whole name when that is empty), except for the images
    `names.renamed` holds, whose names come in as a JSON literal (hex, so nothing in it needs
    escaping or can read as a "%" placeholder). Ordered like `rows` (id, then `tiebreak`).
    """
    order = "id" + (f", {tiebreak.split('.')[-1]}" if tiebreak else "")
    stem = (
        "CASE WHEN split_part(b.base, '.', 1) <> b.base THEN coalesce(nullif("
        "left(b.base, -(length(split_part(b.base, '.', -1)) + 1)), ''), b.base) ELSE b.base END"
    )
    file_name, label_stem, renamed = "b.base", stem, ""
    if names.renamed:
        payload = json.dumps({str(pk): list(v) for pk, v in names.renamed.items()})
        renamed = (
            "LEFT JOIN jsonb_each(convert_from(decode("
            f"'{payload.encode().hex()}', 'hex'), 'UTF8')::jsonb) AS ex ON ex.key = b.id::text"
        )
        file_name = "coalesce(ex.value ->> 0, b.base)"
        label_stem = f"coalesce(ex.value ->> 1, {stem})"
    return rf"""(
        SELECT b.*, {file_name} AS file_name, {label_stem} AS label_stem
        FROM (
            SELECT src.*, split_part(replace(src.original_name, '\', '/'), '/', -1) AS base
            FROM ({rows}) AS src
            ORDER BY {order} OFFSET 0
        ) AS b {renamed}
        ORDER BY {order}
    )"""


def _json_string(column: str) -> str:
    r"""SQL for json.dumps(column): printable ASCII through to_json, anything else per character.

    `column` must be a plain column: it is evaluated up to three times.
    """
    return rf"""(CASE WHEN {column} ~ '^[ -~]*$' THEN to_json({column}::text)::text ELSE (
        SELECT '"' || string_agg(CASE
            WHEN c = '"' THEN '\"' WHEN c = '\' THEN '\\'
            WHEN ascii(c) BETWEEN 32 AND 126 THEN c
            WHEN c = chr(10) THEN '\n' WHEN c = chr(13) THEN '\r' WHEN c = chr(9) THEN '\t'
            WHEN c = chr(8) THEN '\b' WHEN c = chr(12) THEN '\f'
            WHEN ascii(c) < 65536 THEN '\u' || lpad(to_hex(ascii(c)), 4, '0')
            ELSE '\u' || to_hex(55296 + ((ascii(c) - 65536) >> 10))
                || '\u' || to_hex(56320 + ((ascii(c) - 65536) & 1023))
        END, '' ORDER BY n) || '"'
        FROM unnest(string_to_array({column}::text, NULL)) WITH ORDINALITY AS chars (c, n)) END)"""


def _copy_rows(using: str, sql: str, params: list, types: list[str]) -> Iterator[tuple]:
    """The rows of `sql`, streamed with COPY in binary; `types` name how to load each column.

    A consumer that stops early (the client went away) makes psycopg cancel the COPY, which
    aborts an open transaction; inside one, the COPY runs under a savepoint that is rolled
    back then, so the caller's transaction carries on.
    """
    connection = connections[using]
    connection.ensure_connection()
    pg = connection.connection
    savepoint = not pg.autocommit  # in a transaction (psycopg begins it at the first statement)
    with pg.cursor() as cursor:
        if savepoint:
            cursor.execute("SAVEPOINT concord_export_copy")
        try:
            cursor.execute("SELECT set_config('extra_float_digits', '1', false)")
            with cursor.copy(f"COPY ({sql}) TO STDOUT (FORMAT binary)", params) as copy:
                copy.set_types(types)
                yield from copy.rows()
        except BaseException:
            if savepoint:
                cursor.execute("ROLLBACK TO SAVEPOINT concord_export_copy")
            raise
        if savepoint:
            cursor.execute("RELEASE SAVEPOINT concord_export_copy")
