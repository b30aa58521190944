"""Benchmark: a 2-rater COCO file of 100,000 images imported into Concord and assessed.

    .venv/bin/python bench/import.py --images 100000 --workers 2 --db concord_bench_import

1. (Re)creates the database --db (PostgreSQL at --pg), migrates it, and fills one project
   (2 labelers per image, 4 classes) with N image rows by COPY: img_000001.jpg, ... (rows only:
   labels find their images by name, the files are not needed).
2. Writes a raw COCO file, the layout kalphacv reads and Concord's raw export writes: two
   vendors (rater_list per image, rater per annotation), 8 objects per image, each vendor
   jittering boxes by 1.2 px, missing 5 % and swapping 3 % of the classes (~1.5M boxes).
3. Starts `celery -A concord worker -c <workers>` on a queue named after --db.
4. Times, in this process, what `manage.py import` does: read the file, match the images,
   make the two import-only labelers, write the label sets and boxes (imports.services), then
   the assessment the import starts (a project recompute on the worker) until it succeeded.

The database is dropped at the end unless --keep.
"""

from __future__ import annotations

import argparse
import os
import resource
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CLASSES = ["bicycle", "car", "person", "truck"]
RATERS = ["vendor_a", "vendor_b"]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--db", default="concord_bench_import")
    parser.add_argument("--keep", action="store_true", help="leave the database in place")
    parser.add_argument("--profile", action="store_true", help="cProfile the import's read/write")
    args = parser.parse_args()

    os.environ.update(
        DATABASE_URL=f"postgres://{args.pg}/{args.db}",
        REDIS_URL=args.redis,
        CELERY_TASK_DEFAULT_QUEUE=args.db,
        DJANGO_SETTINGS_MODULE="concord.settings",
    )
    from bench.recompute import _create_database, _worker

    _create_database(args.pg, args.db)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    project = _fill(args.images)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "two_vendors.json"
        t = time.perf_counter()
        boxes = _write_coco(path, args.images)
        size = path.stat().st_size / 1e6
        print(f"wrote {path.name}: {args.images} images, {boxes} boxes, {size:.0f} MB "
              f"in {time.perf_counter() - t:.1f} s (not timed below)")  # fmt: skip
        worker = _worker(args.workers)
        try:
            _measure(project, path, profile=args.profile)
        finally:
            worker.terminate()
            try:
                worker.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(worker.pid, signal.SIGKILL)
    if not args.keep:
        from django.db import connections

        connections.close_all()
        import psycopg

        with psycopg.connect(f"postgres://{args.pg}/postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {args.db} WITH (FORCE)")
        print(f"dropped {args.db}")


def _fill(n_images: int):
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.recompute import _copy
    from projects.models import LabelClass, Membership, Project

    lead = get_user_model().objects.create_user("lead", password="bench-pw")
    project = Project.objects.create(
        name="Import bench", slug="import-bench", labelers_per_image=2, created_by=lead
    )
    Membership.objects.create(project=project, user=lead, role="lead")
    for k, name in enumerate(CLASSES):
        LabelClass.objects.create(project=project, name=name, order=k)
    phash = np.random.default_rng(7).integers(-(2**63), 2**63 - 1, n_images, dtype=np.int64)
    with connection.cursor() as cur:
        _copy(
            cur.connection.cursor(),
            "projects_image",
            ["id", "project_id", "file", "original_name", "width", "height", "sha256", "phash",
             "uploaded_at"],
            (
                f"{i}\t{project.pk}\tbench/{i}.jpg\timg_{i:06d}.jpg\t640\t480\t{i:064x}\t{h}"
                "\t2026-01-01\n"
                for i, h in zip(range(1, n_images + 1), phash.tolist(), strict=True)
            ),
        )  # fmt: skip
        cur.execute(
            "SELECT setval(pg_get_serial_sequence('projects_image', 'id'), "
            "(SELECT MAX(id) FROM projects_image))"
        )
        cur.execute("ANALYZE")
    return project


def _write_coco(path: Path, n_images: int) -> int:
    """The two vendors' labels as one raw COCO file; returns the number of boxes."""
    rng = np.random.default_rng(42)
    objects = 8
    obj_image = np.repeat(np.arange(1, n_images + 1), objects)
    xy = rng.uniform(0, 1, (len(obj_image), 2)) * [560, 400]
    wh = rng.uniform(20, 80, (len(obj_image), 2))
    cls = rng.integers(0, len(CLASSES), len(obj_image))
    total = 0
    with path.open("w") as out:
        out.write('{"info": {"description": "bench"}, "categories": [')
        out.write(", ".join(f'{{"id": {k + 1}, "name": "{c}"}}' for k, c in enumerate(CLASSES)))
        out.write('],\n"images": [\n')
        out.write(",\n".join(
            f'{{"id": {i}, "file_name": "img_{i:06d}.jpg", "width": 640, "height": 480, '
            f'"rater_list": ["vendor_a", "vendor_b"]}}'
            for i in range(1, n_images + 1)
        ))  # fmt: skip
        out.write('\n],\n"annotations": [\n')
        next_id = 1
        for k, rater in enumerate(RATERS):
            keep = rng.random(len(obj_image)) > 0.05
            jitter = rng.normal(0, 1.2, (len(obj_image), 4))
            box_xy = np.clip(xy + jitter[:, :2], 0, None).round(2)
            box_wh = np.clip(wh + jitter[:, 2:], 4, None).round(2)
            box_cls = np.where(rng.random(len(obj_image)) < 0.03, (cls + 1) % 4, cls) + 1
            rows = np.flatnonzero(keep)
            lines = (
                f'{{"id": {next_id + n}, "image_id": {obj_image[r]}, "category_id": {box_cls[r]}, '
                f'"bbox": [{box_xy[r, 0]}, {box_xy[r, 1]}, {box_wh[r, 0]}, {box_wh[r, 1]}], '
                f'"rater": "{rater}"}}'
                for n, r in enumerate(rows.tolist())
            )
            if k:
                out.write(",\n")
            out.write(",\n".join(lines))
            next_id += len(rows)
            total += len(rows)
        out.write("\n]}\n")
    return total


def _measure(project, path: Path, *, profile: bool = False) -> None:
    from annotations.models import Annotation, Box
    from imports.formats.coco import parse_coco
    from imports.runs import import_options_clean, import_run_create
    from imports.services import import_execute
    from quality.models import AgreementRun, Flag, ImageAgreement

    t = time.perf_counter()
    sets = parse_coco(path.read_bytes(), raw=True)
    print(f"of which reading the file alone (parse_coco, measured apart): "
          f"{time.perf_counter() - t:.1f} s for {sets.box_count} boxes")  # fmt: skip
    del sets
    options = import_options_clean(fmt="coco_raw")
    run = import_run_create(project=project, options=options, requested_by=None, names=[path.name])
    started = time.perf_counter()
    if profile:
        import cProfile
        import pstats

        profiler = cProfile.Profile()
        profiler.enable()
    with path.open("rb") as handle:
        run = import_execute(run_id=run.pk, uploads=[(path.name, handle)])
    imported = time.perf_counter() - started
    if profile:
        profiler.disable()
        pstats.Stats(profiler).sort_stats("cumulative").print_stats(30)
    run.refresh_from_db()
    assert run.state == "succeeded", run.error
    report = run.params["report"]
    print(
        f"import (read, match, write): {imported:.1f} s; "
        f"{report['totals']['label_sets']} label sets, {report['totals']['boxes']} boxes; "
        f"peak RSS of this process {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB"
    )
    assessment_id = report["assessment_run"]
    while True:
        assessment = AgreementRun.objects.get(pk=assessment_id)
        if assessment.state in ("succeeded", "failed"):
            break
        time.sleep(0.5)
    finished = time.perf_counter() - started
    assert assessment.state == "succeeded", assessment.error
    assessed = (assessment.finished_at - assessment.created_at).total_seconds()
    print(
        f"assessment (recompute run {assessment_id}, chunks on the worker, then the summary): "
        f"{assessed:.1f} s; {assessment.total} images"
    )
    print(f"TOTAL import + assessment: {finished:.1f} s")
    print(
        f"stored: {Annotation.objects.count()} label sets, {Box.objects.count()} boxes, "
        f"{ImageAgreement.objects.count()} images assessed, {Flag.objects.count()} flags, "
        f"K-alpha {project.__class__.objects.get(pk=project.pk).agreement.kalpha:.3f}"
    )


if __name__ == "__main__":
    main()
