"""Bulk reads and writes of the pipeline: COPY on PostgreSQL, the ORM's bulk calls elsewhere.

A recompute reads millions of boxes and writes hundreds of thousands of consensus boxes and
flags; building a model instance (or even a Python tuple) per row costs more than the engine
itself, so on PostgreSQL numeric rows travel as binary COPY built from numpy arrays in one go,
and the other rows through COPY (ids reserved from the table's sequence when the caller needs
them). COPY goes through psycopg's own cursor, so it runs inside Django's error wrapper: a unique
violation or a lost connection must reach the tasks' retries as Django's IntegrityError and
OperationalError, not as psycopg's.
"""

from __future__ import annotations

import json

import numpy as np
from django.db import connection

BULK_BATCH = 2000
_COPY_HEADER = b"PGCOPY\n\xff\r\n\x00" + bytes(8)  # signature, flags, no header extension
_COPY_TRAILER = b"\xff\xff"


def is_postgresql() -> bool:
    return connection.vendor == "postgresql"


def pipeline_transaction_settings() -> None:
    """Call first inside a pipeline transaction (PostgreSQL; nothing elsewhere).

    ``synchronous_commit = off``: everything the pipeline writes is derived from labels and
    recomputed on demand, so a crash losing the last few milliseconds of results costs a
    recompute, never data; waiting for the disk at every chunk's commit cost a fifth of its time.

    ``enable_seqscan = off``: a chunk reads and writes the rows of a few hundred images in
    tables of millions, where an index is always right; but a recompute that starts from empty
    result tables runs on statistics saying they are empty, and the planner then scanned the
    whole table for every ``image_id IN (...)`` (0.2 s a query by the end of a 100k-image run).

    ``max_parallel_workers_per_gather = 0``: reading a chunk's boxes started parallel workers,
    which cost more to start than they save and take CPU from the other worker process.
    """
    if is_postgresql():
        with connection.cursor() as cursor:
            cursor.execute(
                "SET LOCAL synchronous_commit = off; SET LOCAL enable_seqscan = off; "
                "SET LOCAL max_parallel_workers_per_gather = 0"
            )


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
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(sql) as copy,
    ):
        for row in rows:
            if json_columns:
                row = tuple(json.dumps(v) if k in json_columns else v for k, v in enumerate(row))
            copy.write_row(row)


def arrays_insert(model, columns: dict[str, np.ndarray], nulls: dict[str, np.ndarray]) -> None:
    """Insert rows given as numpy columns (field name -> array; ``nulls``: field -> null mask).

    Arrays must have the column's width: int64 for bigint, int32 for integer, int16 for
    smallint, float64 for double precision. PostgreSQL: one binary COPY whose bytes numpy
    lays out, no Python object per row; elsewhere bulk_create.
    """
    fields = list(columns)
    n = len(columns[fields[0]]) if fields else 0
    if not n:
        return
    if not is_postgresql():
        values = [columns[f].tolist() for f in fields]
        for f, mask in nulls.items():
            k = fields.index(f)
            values[k] = [None if m else v for v, m in zip(values[k], mask.tolist(), strict=True)]
        rows_insert(model, fields, list(zip(*values, strict=True)))
        return
    names = ", ".join(model._meta.get_field(f).column for f in fields)
    data = _copy_binary([columns[f] for f in fields], [nulls.get(f) for f in fields])
    sql = f"COPY {model._meta.db_table} ({names}) FROM STDIN BINARY"
    with (
        connection.wrap_database_errors,
        connection.cursor() as cursor,
        cursor.cursor.copy(sql) as copy,
    ):
        copy.write(data)


def _copy_binary(arrays: list[np.ndarray], nulls: list[np.ndarray | None]) -> bytes:
    n = len(arrays[0])
    present = [np.ones(n, bool) if m is None else ~np.asarray(m, bool) for m in nulls]
    widths = [a.dtype.itemsize for a in arrays]
    row_size = 2 + sum(4 + w * p for w, p in zip(widths, present, strict=True))
    start = np.zeros(n, dtype=np.int64)
    np.cumsum(row_size[:-1], out=start[1:])
    start += len(_COPY_HEADER)
    out = np.empty(int(start[-1] + row_size[-1]) + len(_COPY_TRAILER), dtype=np.uint8)
    out[: len(_COPY_HEADER)] = np.frombuffer(_COPY_HEADER, np.uint8)
    out[-len(_COPY_TRAILER) :] = np.frombuffer(_COPY_TRAILER, np.uint8)

    def put(at, values):  # values: (len(at), k) bytes, written at out[at : at + k]
        out[at[:, None] + np.arange(values.shape[1])] = values

    put(start, np.full(n, len(arrays), ">i2").view(np.uint8).reshape(n, 2))
    at = start + 2
    for array, width, keep in zip(arrays, widths, present, strict=True):
        put(at, np.where(keep, width, -1).astype(">i4").view(np.uint8).reshape(n, 4))
        at = at + 4
        data = array[keep].astype(array.dtype.newbyteorder(">")).view(np.uint8)
        put(at[keep], data.reshape(-1, width))
        at = at + width * keep
    return out.tobytes()


def query_matrix(sql: str, params, n_columns: int) -> np.ndarray:
    """Rows of a query as a float64 matrix (PostgreSQL), through binary COPY: no Python
    object per value. Every selected column must be a non-null ``float8``."""
    from psycopg import ClientCursor  # COPY takes no parameters: bind them client-side

    with connection.wrap_database_errors, connection.cursor() as cursor:
        query = ClientCursor(cursor.cursor.connection).mogrify(sql, params)
        data = bytearray()
        with cursor.cursor.copy(f"COPY ({query}) TO STDOUT (FORMAT binary)") as copy:
            for block in copy:
                data += block
    body = np.frombuffer(data, dtype=np.uint8)[len(_COPY_HEADER) : -len(_COPY_TRAILER)]
    fields = [("count", ">i2")]
    for k in range(n_columns):
        fields += [(f"size{k}", ">i4"), (f"value{k}", ">f8")]
    row = np.dtype(fields)
    if len(body) % row.itemsize:  # a null (no value bytes) or a narrower type: rows of another size
        raise ValueError("query_matrix needs non-null float8 columns")
    rows = body.view(row)
    sizes = np.stack([rows[f"size{k}"] for k in range(n_columns)]) if len(rows) else []
    if len(rows) and not ((rows["count"] == n_columns).all() and (sizes == 8).all()):
        raise ValueError("query_matrix needs non-null float8 columns")
    matrix = np.empty((len(rows), n_columns), dtype=np.float64)
    for k in range(n_columns):
        matrix[:, k] = rows[f"value{k}"]
    return matrix
