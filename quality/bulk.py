"""Bulk inserts of result rows: COPY on PostgreSQL, bulk_create elsewhere.

A recompute writes hundreds of thousands of consensus boxes and flags; building a model instance
and binding every value in SQL costs more than the engine itself, so on PostgreSQL the rows go
through COPY (ids reserved from the table's sequence first when the caller needs them).
"""

from __future__ import annotations

import json

from django.db import connection

BULK_BATCH = 2000


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def results_commit_async() -> None:
    """Call inside the transaction: on PostgreSQL, do not wait for its WAL flush at commit.

    Everything the pipeline writes is derived from labels and recomputed on demand, so a crash
    losing the last few milliseconds of results costs a recompute, never data; waiting for the
    disk at every chunk's commit cost a fifth of a chunk's time.
    """
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL synchronous_commit = off")


def ids_reserve(model, count: int) -> list[int]:
    """``count`` fresh primary keys of ``model`` (PostgreSQL), from its id sequence."""
    if not count:
        return []
    table = model._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, 'id')) FROM generate_series(1, %s)",
            [table, count],
        )
        return [row[0] for row in cursor.fetchall()]


def rows_insert(model, fields: list[str], rows: list[tuple]) -> None:
    """Insert plain tuples (values in ``fields`` order, column names) into ``model``'s table."""
    if not rows:
        return
    if not is_postgresql():
        model.objects.bulk_create(
            [model(**dict(zip(fields, row, strict=True))) for row in rows], BULK_BATCH
        )
        return
    json_columns = {
        k
        for k, name in enumerate(fields)
        if model._meta.get_field(name).get_internal_type() == "JSONField"
    }
    columns = ", ".join(model._meta.get_field(name).column for name in fields)
    sql = f"COPY {model._meta.db_table} ({columns}) FROM STDIN"
    with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
        for row in rows:
            if json_columns:
                row = tuple(json.dumps(v) if k in json_columns else v for k, v in enumerate(row))
            copy.write_row(row)
