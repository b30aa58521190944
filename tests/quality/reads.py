"""Rows a block of code reads from some tables, from PostgreSQL's statistics of the transaction.

Counted as pg_stat_user_tables counts seq_tup_read + idx_tup_fetch: rows returned by sequential
scans, plus live rows fetched through indexes (plain and bitmap scans; in a test's transaction
no page is all-visible, so index-only scans fetch rows too). Dead versions of rows the test
updated are not counted. Sequential scans are turned off inside the block: a query that an index
can answer is answered through it (a small test table would otherwise be read whole because
that is cheaper), and a query that needs every row still reads every row, which is what the
tests look for.
"""

from contextlib import contextmanager

import pytest
from django.db import connection

ROWS_READ_SQL = """
SELECT c.relname,
    pg_stat_get_xact_tuples_returned(c.oid) + pg_stat_get_xact_tuples_fetched(c.oid)
    + COALESCE((SELECT sum(pg_stat_get_xact_tuples_fetched(i.indexrelid)) FROM pg_index AS i
                WHERE i.indrelid = c.oid), 0)
FROM pg_class AS c WHERE c.relname = ANY(%s) AND c.relkind = 'r'
"""


def _counts(tables) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(ROWS_READ_SQL, [list(tables)])
        return {name: int(n) for name, n in cursor.fetchall()}


@contextmanager
def rows_read(*tables: str):
    """``with rows_read("projects_image") as read:`` ... then ``read["projects_image"]``."""
    if connection.vendor != "postgresql":
        pytest.skip("reads are counted from PostgreSQL's statistics")
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(tables)}")
    before = _counts(tables)
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    read: dict[str, int] = {}
    try:
        yield read
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_seqscan = on")
        after = _counts(tables)
        read.update({name: after[name] - before[name] for name in tables})
