"""Where a recompute chunk spends its CPU: Python in this process, PostgreSQL in its backend.

    .venv/bin/python bench/recompute_chunk.py --db concord_bench --chunks 8

Needs a database filled by bench/recompute.py. Runs services_runs.run_chunk_assess in this
process (no worker) on --chunks chunks of --size images, after clearing their stored results
(``--from stale`` instead marks them stale, as after a threshold change), and prints the CPU
per chunk: Python (process time) and the PostgreSQL backend (/proc/<pid>/schedstat, Linux, same
machine), the backend's share per statement. CPU time does not depend on what else runs on the
machine, so figures from before and after a change compare even on a busy machine. The first
chunk warms caches and is not counted. The chunks' results are left as a recompute leaves them.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="concord_bench")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--size", type=int, default=500, help="images per chunk")
    parser.add_argument("--chunks", type=int, default=8)
    parser.add_argument("--first-image", type=int, default=10_000)
    parser.add_argument("--from", dest="start", choices=["empty", "stale"], default="empty")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=f"postgres://{args.pg}/{args.db}", DJANGO_SETTINGS_MODULE="concord.settings"
    )
    import django

    django.setup()
    from projects.models import Project
    from quality.models import AgreementRun, ConsensusBox, Flag, ImageAgreement
    from quality.services.runs import run_chunk_assess

    backend, per_statement, counting = _statement_cpu()
    project = Project.objects.get(slug="bench")
    run = AgreementRun.objects.create(project=project, state="running", total=args.size)
    python = postgres = 0.0
    try:
        for k in range(args.chunks + 1):
            first = args.first_image + k * args.size
            ids = list(range(first, first + args.size))
            if args.start == "empty":
                Flag.objects.filter(image_id__in=ids).delete()
                ConsensusBox.objects.filter(image_id__in=ids).delete()
                ImageAgreement.objects.filter(image_id__in=ids).delete()
            else:
                ImageAgreement.objects.filter(image_id__in=ids).update(input_digest="stale")
            counting[0] = k > 0
            t, b = time.process_time(), backend()
            run_chunk_assess(run_id=run.pk, image_ids=ids)
            if k:
                python += time.process_time() - t
                postgres += backend() - b
            counting[0] = False
    finally:
        AgreementRun.objects.filter(pk=run.pk).delete()
    n = args.chunks
    print(
        f"per {args.size}-image chunk (from {args.start}, {n} chunks): Python "
        f"{python / n * 1000:.0f} ms, PostgreSQL {postgres / n * 1000:.0f} ms CPU"
    )
    for statement, seconds in per_statement.most_common(10):
        print(f"  {seconds / n * 1000:6.1f} ms  {statement}")


def _statement_cpu():
    """Patch psycopg so each statement's backend CPU is added up by its first words."""
    import psycopg
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    schedstat = Path(f"/proc/{pid}/schedstat")

    def backend() -> float:
        return int(schedstat.read_text().split()[0]) / 1e9

    totals: Counter = Counter()
    counting = [False]

    def name(sql) -> str:
        sql = " ".join(str(sql).split())
        found = re.match(r"(WITH \w+|COPY \w+|SELECT \S+|DELETE FROM \S+|UPDATE \S+|\w+)", sql)
        return found.group(1) if found else sql[:40]

    def timed(label, before):
        if counting[0]:
            totals[label] += backend() - before

    execute = psycopg.Cursor.execute

    def patched_execute(self, query, *args, **kwargs):
        before = backend()
        try:
            return execute(self, query, *args, **kwargs)
        finally:
            timed(name(query), before)

    copy = psycopg.Cursor.copy

    @contextlib.contextmanager
    def patched_copy(self, statement, *args, **kwargs):
        before = backend()
        with copy(self, statement, *args, **kwargs) as running:
            yield running
        timed(name(statement), before)

    commit = psycopg.Connection.commit

    def patched_commit(self):
        before = backend()
        commit(self)
        timed("COMMIT (deferred foreign key checks)", before)

    psycopg.Cursor.execute = patched_execute
    psycopg.ClientCursor.execute = patched_execute
    psycopg.Cursor.copy = patched_copy
    psycopg.Connection.commit = patched_commit
    return backend, totals, counting


if __name__ == "__main__":
    main()
