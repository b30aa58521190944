"""Flag rows kept in step with what the engine finds, without losing a lead's decisions.

A flag's identity is (image, key). Syncing a scope (some images, some kinds) to the flags found:
a flag found again keeps its row, status and resolution; an open flag no longer found is deleted;
a resolved or dismissed flag no longer found becomes superseded (the history stays).
"""

from __future__ import annotations

import json
from typing import NamedTuple

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from quality.dbcopy import BULK_BATCH, ids_reserve, is_postgresql, rows_insert
from quality.models import Flag, FlagLabeler

SETTLED = (Flag.Status.RESOLVED, Flag.Status.DISMISSED)


class FlagSpec(NamedTuple):
    image_id: int
    other_image_id: int | None
    kind: str
    key: str
    labeler_ids: list[int]
    box_ids: list[int]
    label_class_id: int | None
    message: str
    deviating_ids: tuple[int, ...] = ()  # of labeler_ids, the labelers in the minority
    severity: float = 0.0  # how large the disagreement is within its kind (Flag.severity)


@transaction.atomic
def flags_sync(
    *,
    project_id: int,
    image_ids: list[int] | None,
    kinds: list[str],
    specs: list[FlagSpec],
    include_other_image: bool = False,
) -> set[int]:
    """Make the live flags of these images (None: the whole project) and kinds equal ``specs``.

    Returns the ids of images whose set of open flags changed. A constant number of queries
    whatever the number of flags: on PostgreSQL the flags found are copied into a temporary
    table and the scope is synced by one set-based statement; elsewhere bulk ORM writes.
    """
    if is_postgresql():
        return _flags_sync_sql(project_id, image_ids, kinds, specs, include_other_image)
    scope = Flag.objects.filter(project_id=project_id, kind__in=kinds).exclude(
        status=Flag.Status.SUPERSEDED
    )
    if image_ids is not None:
        where = Q(image_id__in=image_ids)
        if include_other_image:
            where |= Q(other_image_id__in=image_ids)
        scope = scope.filter(where)
    existing = {
        (image_id, key): (pk, status, message, label_class_id, other_image_id, severity)
        for pk, image_id, key, status, message, label_class_id, other_image_id, severity in (
            scope.values_list(
                "pk", "image_id", "key", "status", "message", "label_class_id", "other_image_id",
                "severity",
            )
        )
    }  # fmt: skip
    wanted = {(s.image_id, s.key): s for s in specs}
    touched: set[int] = set()

    gone = [(k, v) for k, v in existing.items() if k not in wanted]
    _retire(
        [v[0] for _, v in gone if v[1] == Flag.Status.OPEN],
        [v[0] for _, v in gone if v[1] in SETTLED],
    )
    for (image_id, _), v in gone:
        touched.add(image_id)
        if v[4]:
            touched.add(v[4])

    changed = [
        Flag(
            pk=existing[k][0], message=s.message, label_class_id=s.label_class_id,
            severity=s.severity,
        )
        for k, s in wanted.items()
        if k in existing
        and (existing[k][2], existing[k][3], existing[k][5])
        != (s.message, s.label_class_id, s.severity)
    ]  # fmt: skip
    if changed:
        Flag.objects.bulk_update(
            changed, ["message", "label_class_id", "severity"], batch_size=BULK_BATCH
        )

    _deviating_update({existing[k][0]: s.deviating_ids for k, s in wanted.items() if k in existing})
    new = [s for k, s in wanted.items() if k not in existing]
    flag_ids = _flags_insert(project_id, new)
    rows_insert(
        FlagLabeler,
        ["flag_id", "user_id", "deviating"],
        [
            (pk, user_id, user_id in s.deviating_ids)
            for pk, s in zip(flag_ids, new, strict=True)
            for user_id in s.labeler_ids
        ],
    )
    for s in new:
        touched.add(s.image_id)
        if s.other_image_id:
            touched.add(s.other_image_id)
    return touched


FOUND = "concord_flag_found"  # temporary table, per session, emptied at each commit
_FOUND_COLUMNS = [
    "image_id",
    "other_image_id",
    "kind",
    "key",
    "labeler_ids",
    "box_ids",
    "label_class_id",
    "message",
    "deviating_ids",
    "severity",
]


def _flags_sync_sql(project_id, image_ids, kinds, specs, include_other_image) -> set[int]:
    """flags_sync on PostgreSQL: COPY the flags found, then one statement does the rest.

    In the scope, a live flag whose (image, key) was not found is superseded when settled and
    deleted (afterwards, through the ORM) when open; one found again gets the new sentence and
    class if they changed, and its labelers' deviating marks; a flag found and not live is
    inserted with its labelers. Rows are
    reached through the image indexes and the unique (image, key) index, so the cost is that
    of the flags touched.
    """
    flag, through = Flag._meta.db_table, FlagLabeler._meta.db_table
    # COPY goes through psycopg's cursor: wrapped so its errors reach the tasks' retries as
    # Django's (see quality.dbcopy).
    with connection.wrap_database_errors, connection.cursor() as cursor:
        cursor.execute(
            f"""CREATE TEMPORARY TABLE IF NOT EXISTS {FOUND} (
                image_id bigint NOT NULL, other_image_id bigint, kind varchar(32) NOT NULL,
                key varchar(255) NOT NULL, labeler_ids bigint[] NOT NULL, box_ids jsonb NOT NULL,
                label_class_id bigint, message varchar(500) NOT NULL,
                deviating_ids bigint[] NOT NULL DEFAULT '{{}}',
                severity double precision NOT NULL DEFAULT 0,
                PRIMARY KEY (image_id, key)
            ) ON COMMIT DELETE ROWS"""
        )
        cursor.execute(f"DELETE FROM {FOUND}")  # a savepoint rolled back may have left rows
        with cursor.cursor.copy(f"COPY {FOUND} ({', '.join(_FOUND_COLUMNS)}) FROM STDIN") as copy:
            for s in {(s.image_id, s.key): s for s in specs}.values():
                copy.write_row(
                    (s.image_id, s.other_image_id, s.kind, s.key, s.labeler_ids,
                     json.dumps(s.box_ids), s.label_class_id, s.message, list(s.deviating_ids),
                     s.severity)
                )  # fmt: skip
        # With images given, kinds are named by those left out: "kind <> ALL(...)" cannot lead
        # the planner to the kind index (on stale statistics it did, and read every flag of the
        # project). For the whole project the kind index is the way in.
        kind = "f.kind <> ALL(%(others)s)"
        if image_ids is None:
            in_scope, kind = "f.project_id = %(project)s", "f.kind = ANY(%(kinds)s)"
        elif include_other_image:
            in_scope = "(f.image_id = ANY(%(images)s) OR f.other_image_id = ANY(%(images)s))"
        else:
            in_scope = "f.image_id = ANY(%(images)s)"
        cursor.execute(
            f"""
            WITH scope AS (
                SELECT f.id, f.image_id, f.key, f.status, f.other_image_id FROM {flag} f
                WHERE {in_scope} AND {kind} AND NOT f.status = 'superseded'
            ), gone AS (
                SELECT s.* FROM scope s WHERE NOT EXISTS (
                    SELECT 1 FROM {FOUND} t WHERE t.image_id = s.image_id AND t.key = s.key)
            ), superseded AS (
                UPDATE {flag} f SET status = 'superseded', updated_at = now() FROM gone
                WHERE f.id = gone.id AND gone.status IN ('resolved', 'dismissed')
                RETURNING f.image_id, f.other_image_id
            ), updated AS (
                UPDATE {flag} f SET message = t.message, label_class_id = t.label_class_id,
                    severity = t.severity, updated_at = now()
                FROM scope s JOIN {FOUND} t ON t.image_id = s.image_id AND t.key = s.key
                WHERE f.id = s.id AND (f.message, f.label_class_id, f.severity)
                    IS DISTINCT FROM (t.message, t.label_class_id, t.severity)
            ), inserted AS (
                INSERT INTO {flag} (project_id, image_id, other_image_id, kind, key, box_ids,
                    label_class_id, message, severity, status, resolution, resolution_note,
                    created_at, updated_at)
                SELECT %(project)s, t.image_id, t.other_image_id, t.kind, t.key, t.box_ids,
                    t.label_class_id, t.message, t.severity, 'open', '', '', now(), now()
                FROM {FOUND} t
                ON CONFLICT (image_id, key) WHERE NOT status = 'superseded' DO NOTHING
                RETURNING id, image_id, key, other_image_id
            ), labelers AS (
                INSERT INTO {through} (flag_id, user_id, deviating)
                SELECT i.id, u.user_id, u.user_id = ANY(t.deviating_ids) FROM inserted i
                JOIN {FOUND} t ON t.image_id = i.image_id AND t.key = i.key
                CROSS JOIN LATERAL unnest(t.labeler_ids) AS u(user_id)
            ), deviating AS (
                UPDATE {through} fl SET deviating = NOT fl.deviating
                FROM scope s JOIN {FOUND} t ON t.image_id = s.image_id AND t.key = s.key
                WHERE fl.flag_id = s.id
                    AND fl.deviating <> (fl.user_id = ANY(t.deviating_ids))
            )
            SELECT id, status, image_id, other_image_id FROM gone
            UNION ALL SELECT NULL, 'open', image_id, other_image_id FROM inserted
            """,
            {
                "project": project_id,
                "images": image_ids,
                "kinds": list(kinds),
                "others": sorted(set(Flag.Kind.values) - set(kinds)),
            },
        )
        rows = cursor.fetchall()
    # Deleted through the ORM: it also removes their labeler rows and whatever else points
    # at a flag. Only flags no longer found; none in a recompute from empty results.
    _retire([pk for pk, status, _, _ in rows if pk and status == Flag.Status.OPEN], [])
    touched = set()
    for _, _, image_id, other_image_id in rows:
        touched.add(image_id)
        if other_image_id:
            touched.add(other_image_id)
    return touched


def _flags_insert(project_id: int, specs: list[FlagSpec]) -> list[int]:
    """Insert new open flags; returns their ids (COPY with reserved ids on PostgreSQL)."""
    if not is_postgresql():
        created = Flag.objects.bulk_create(
            [
                Flag(
                    project_id=project_id,
                    image_id=s.image_id,
                    other_image_id=s.other_image_id,
                    kind=s.kind,
                    key=s.key,
                    box_ids=s.box_ids,
                    label_class_id=s.label_class_id,
                    message=s.message,
                    severity=s.severity,
                )
                for s in specs
            ],
            BULK_BATCH,
        )
        return [flag.pk for flag in created]
    ids = ids_reserve(Flag, len(specs))
    now = timezone.now()
    rows_insert(
        Flag,
        ["id", "project_id", "image_id", "other_image_id", "kind", "key", "box_ids",
         "label_class_id", "message", "severity", "status", "resolution", "resolution_note",
         "created_at", "updated_at"],
        [
            (pk, project_id, s.image_id, s.other_image_id, s.kind, s.key, s.box_ids,
             s.label_class_id, s.message, s.severity, Flag.Status.OPEN, "", "", now, now)
            for pk, s in zip(ids, specs, strict=True)
        ],
    )  # fmt: skip
    return ids


def image_flags_retire(*, image_ids: list[int], keep=()) -> None:
    """Retire every live flag touching these images, except kinds in ``keep``."""
    live = (
        Flag.objects.filter(Q(image_id__in=image_ids) | Q(other_image_id__in=image_ids))
        .exclude(status=Flag.Status.SUPERSEDED)
        .exclude(kind__in=list(keep))
    )
    rows = list(live.values_list("pk", "status"))
    _retire(
        [pk for pk, status in rows if status == Flag.Status.OPEN],
        [pk for pk, status in rows if status in SETTLED],
    )


def _deviating_update(deviating_by_flag: dict[int, tuple[int, ...]]) -> None:
    """Set the deviating marks of flags found again (the ORM path; rows that differ only)."""
    if not deviating_by_flag:
        return
    rows = FlagLabeler.objects.filter(flag_id__in=list(deviating_by_flag)).values_list(
        "pk", "flag_id", "user_id", "deviating"
    )
    wrong = {True: [], False: []}
    for pk, flag_id, user_id, deviating in rows:
        should = user_id in deviating_by_flag[flag_id]
        if deviating != should:
            wrong[should].append(pk)
    for value, pks in wrong.items():
        for start in range(0, len(pks), BULK_BATCH):
            FlagLabeler.objects.filter(pk__in=pks[start : start + BULK_BATCH]).update(
                deviating=value
            )


def _retire(open_ids: list[int], settled_ids: list[int]) -> None:
    if open_ids:
        Flag.objects.filter(pk__in=open_ids).delete()
    if settled_ids:
        Flag.objects.filter(pk__in=settled_ids).update(status=Flag.Status.SUPERSEDED)
