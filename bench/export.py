"""Export throughput and memory: COCO and YOLO of a PostgreSQL project with up to 1,000,000 boxes.

    # once: a database of its own, migrated
    createdb -h 127.0.0.1 -U postgres concord_bench_export
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/concord_bench_export .venv/bin/python manage.py migrate
    # fill two projects (250k and 1M consensus boxes, 10 per image) with COPY, then measure
    DATABASE_URL=... .venv/bin/python bench/export.py fill --boxes 250000 1000000
    DATABASE_URL=... .venv/bin/python bench/export.py measure --boxes 250000 1000000
    # the Python writers (what other databases use) on the same rows, for comparison
    DATABASE_URL=... .venv/bin/python bench/export.py measure --boxes 1000000 --writer python

Each measurement runs in a fresh process (so its peak RSS is its own) that streams the export
to /dev/null through exports.formats.export_file, exactly what the API streams. Besides wall
time it reports the CPU seconds of this process and of its PostgreSQL backend (read from /proc
when the server runs on this machine): on PostgreSQL the database writes the text while Python
frames it, so on a busy machine the wall time says more about the neighbours than the export.
"""

import argparse
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "concord.settings")

BOXES_PER_IMAGE = 10
LABELERS = 3


def _setup():
    import django

    django.setup()
    from django.db import connection

    if connection.vendor != "postgresql":
        sys.exit("Set DATABASE_URL to a PostgreSQL database (e.g. concord_bench_export).")


def slug_for(boxes: int) -> str:
    return f"bench-export-{boxes}"


def fill(boxes: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from projects.models import LabelClass, Membership, Project

    User = get_user_model()
    slug = slug_for(boxes)
    Project.objects.filter(slug=slug).delete()
    lead, _ = User.objects.get_or_create(username="bench-lead")
    labelers = [
        User.objects.get_or_create(username=f"bench-labeler-{i}")[0] for i in range(LABELERS)
    ]
    with transaction.atomic():
        project = Project.objects.create(
            name=f"Bench {boxes}", slug=slug, created_by=lead, labelers_per_image=LABELERS
        )
        Membership.objects.create(project=project, user=lead, role="lead")
        classes = [
            LabelClass.objects.create(project=project, name=name, order=i)
            for i, name in enumerate(("car", "truck", "person", "bicycle"))
        ]
    images = boxes // BOXES_PER_IMAGE
    now = timezone.now().isoformat()
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM projects_image")
        first = cursor.fetchone()[0] + 1
        ids = range(first, first + images)
        raw = cursor.cursor
        with raw.copy(
            "COPY projects_image (id, project_id, file, original_name, width, height, sha256, uploaded_at) FROM STDIN"
        ) as copy:
            for n, pk in enumerate(ids):
                sha = f"{pk:064x}"
                copy.write_row(
                    (
                        pk,
                        project.pk,
                        f"projects/{project.pk}/images/{sha[:2]}/{sha}.jpg",
                        f"street_{n:07d}.jpg",
                        1280,
                        720,
                        sha,
                        now,
                    )
                )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('projects_image', 'id'), %s)", [ids[-1]]
        )
        with raw.copy(
            "COPY annotations_annotation (image_id, labeler_id, kind, status, started_at, updated_at, submitted_at, active_seconds) FROM STDIN"
        ) as copy:
            for pk in ids:
                for labeler in labelers:
                    copy.write_row((pk, labeler.pk, "label", "submitted", now, now, now, 10.0))
        with raw.copy(
            "COPY quality_imageagreement (image_id, score, labeler_count, object_count, open_flag_count, params, engine_version, input_digest, computed_at) FROM STDIN"
        ) as copy:
            for n, pk in enumerate(ids):
                copy.write_row(
                    (pk, 0.5 + (n % 50) / 100, LABELERS, BOXES_PER_IMAGE, 0, "{}", "bench", "", now)
                )
        with raw.copy(
            "COPY quality_consensusbox (image_id, index, label_class_id, x, y, width, height, support, label_confidence, mean_iou) FROM STDIN"
        ) as copy:
            for n, pk in enumerate(ids):
                for k in range(BOXES_PER_IMAGE):
                    x = (n * 37 + k * 120) % 1200
                    y = (n * 11 + k * 70) % 680
                    copy.write_row(
                        (
                            pk,
                            k,
                            classes[(n + k) % 4].pk,
                            x + 0.5,
                            y + 0.25,
                            40.0 + k,
                            30.0 + k,
                            1.0,
                            1.0,
                            0.8,
                        )
                    )
        cursor.execute("ANALYZE")
    print(
        f"filled {slug}: {images:,} images, {boxes:,} boxes in {time.perf_counter() - started:.1f} s"
    )


def _backend_cpu_seconds(pid: int) -> float | None:
    """User + system CPU of a local PostgreSQL backend process, None when not readable here."""
    try:
        with open(f"/proc/{pid}/stat") as handle:
            fields = handle.read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_one(boxes: int, fmt: str, trace: bool, writer: str) -> dict:
    """In this process: stream one export to /dev/null; report time and peak memory."""
    import tracemalloc

    from django.db import connection

    from exports.formats import export_file
    from exports.params import ExportSpec
    from projects.models import Project

    project = Project.objects.get(slug=slug_for(boxes))
    connection.ensure_connection()
    backend = connection.connection.info.backend_pid
    if trace:
        tracemalloc.start()
    db_cpu = _backend_cpu_seconds(backend)
    own_cpu = time.process_time()
    started = time.perf_counter()
    exported = export_file(
        project=project, spec=ExportSpec(format=fmt), text_in_database=writer == "database"
    )
    written = 0
    with open(os.devnull, "wb") as sink:
        for chunk in exported.chunks:
            sink.write(chunk)
            written += len(chunk)
    seconds = time.perf_counter() - started
    db_after = _backend_cpu_seconds(backend)
    result = {
        "format": fmt,
        "writer": writer,
        "boxes": boxes,
        "seconds": round(seconds, 2),
        "boxes_per_second": round(boxes / seconds),
        "bytes": written,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "python_cpu_s": round(time.process_time() - own_cpu, 2),
        "db_cpu_s": None if db_cpu is None or db_after is None else round(db_after - db_cpu, 2),
    }
    if trace:
        result["tracemalloc_peak_mb"] = round(tracemalloc.get_traced_memory()[1] / 2**20, 2)
    return result


def measure(sizes: list[int], formats: list[str], writer: str, trace: bool = True) -> None:
    rows = []
    for boxes in sizes:
        for fmt in formats:
            for traced in (False, True) if trace else (False,):
                out = subprocess.run(
                    [sys.executable, __file__, "_run", "--boxes", str(boxes), "--format", fmt,
                     "--writer", writer] + (["--trace"] if traced else []),
                    capture_output=True,
                    text=True,
                    check=True,
                    env=os.environ,
                )  # fmt: skip
                row = json.loads(out.stdout.strip().splitlines()[-1])
                rows.append(row)
                print(json.dumps(row), flush=True)
    table = io.StringIO()
    table.write(
        "| format | writer | boxes | seconds | boxes/s | output MB | peak RSS MB "
        "| tracemalloc peak MB | Python CPU s | PostgreSQL CPU s |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    timed = [r for r in rows if "tracemalloc_peak_mb" not in r]
    traced_rows = {(r["format"], r["boxes"]): r for r in rows if "tracemalloc_peak_mb" in r}
    for r in timed:
        t = traced_rows.get((r["format"], r["boxes"]), {})
        table.write(
            f"| {r['format']} | {r['writer']} | {r['boxes']:,} | {r['seconds']} "
            f"| {r['boxes_per_second']:,} | {r['bytes'] / 1e6:.1f} | {r['peak_rss_mb']} "
            f"| {t.get('tracemalloc_peak_mb', '-')} | {r['python_cpu_s']} | {r['db_cpu_s']} |\n"
        )
    print(table.getvalue())


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("command", choices=["fill", "measure", "_run"])
    parser.add_argument("--boxes", type=int, nargs="+", default=[250_000, 1_000_000])
    parser.add_argument("--format", nargs="+", default=["coco", "yolo"])
    parser.add_argument("--trace", action="store_true")
    parser.add_argument(
        "--writer",
        choices=["database", "python"],
        default="database",
        help="who writes the text: PostgreSQL (the default on PostgreSQL) or the Python writers",
    )
    parser.add_argument(
        "--no-trace", dest="with_trace", action="store_false", help="skip the tracemalloc runs"
    )
    args = parser.parse_args()
    _setup()
    if args.command == "fill":
        for boxes in args.boxes:
            fill(boxes)
    elif args.command == "measure":
        measure(args.boxes, args.format, args.writer, args.with_trace)
    else:
        print(json.dumps(run_one(args.boxes[0], args.format[0], args.trace, args.writer)))


if __name__ == "__main__":
    main()
