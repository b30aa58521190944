"""Scale-out of media in object storage: registering and hashing images from a bucket, and a full
recompute, with 1, 2 and 4 worker processes.

    nice .venv/bin/python bench/storage.py --images 10000 --workers 1,2,4
    nice .venv/bin/python bench/storage.py --images 10000 --workers 4 --recompute-workers 1,2,4

1. Starts a real S3-protocol server (moto in server mode, `python -m moto.server`, a process of
   its own on 127.0.0.1) and puts N distinct JPEGs in its bucket (640x480, ~70 KB each, so a
   registration reads each in two ranged GETs: the first 64 KB, then the rest).
2. (Re)creates the PostgreSQL database --db and migrates it. For each worker count W: starts W
   separate `celery -A concord worker -c 1` processes (each a stand-in for a machine of its own:
   they share no disk with the bench process, only the bucket, PostgreSQL and Redis), registers
   the bucket's prefix into a new project (projects.registration: listing, then chunks of
   REGISTER_CHUNK_SIZE objects examined in parallel: ranged reads, SHA-256, checks, perceptual
   hash) and times it from the request to the run's `succeeded`.
3. Gives the last project's images 3 labelers x ~6 boxes (COPY) and times a full agreement
   recompute from no stored results with each of --recompute-workers (default: the same counts)
   workers (the chord of bench/recompute.py, which reads no image).
4. Splits one image's cost in-process (single thread): the two GETs against the server, and the
   checks and hashes, to say what limits the throughput; and the CPU seconds each process kind
   (workers, the S3 server, PostgreSQL is not counted) used per registration.
"""

from __future__ import annotations

import argparse
import io
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PREFIX = "dataset/images/"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--images", type=int, default=10_000)
    parser.add_argument("--workers", default="1,2,4", help="worker process counts to compare")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    parser.add_argument("--db", default="concord_bench_storage")
    parser.add_argument("--chunk", type=int, default=50, help="REGISTER_CHUNK_SIZE")
    parser.add_argument(
        "--keep",
        action="store_true",
        help="reuse --db as a previous run left it: only the recomputes, on its last project",
    )
    parser.add_argument(
        "--recompute-workers",
        default=None,
        help="worker counts for the recompute (default: --workers; empty: none)",
    )
    args = parser.parse_args()
    counts = [int(w) for w in args.workers.split(",")]
    recompute_counts = [
        int(w)
        for w in (args.workers if args.recompute_workers is None else args.recompute_workers).split(
            ","
        )
        if w
    ]

    from tests.s3_server import BUCKET, moto_server, s3_client, s3_environment

    with moto_server() as endpoint:
        client = s3_client(endpoint)
        client.create_bucket(Bucket=BUCKET)
        if args.keep:
            counts = []
        else:
            t = time.perf_counter()
            size = _objects_put(client, BUCKET, args.images)
            print(
                f"put {args.images} JPEGs ({size / args.images / 1024:.0f} KB each on average) "
                f"in {time.perf_counter() - t:.0f} s",
                flush=True,
            )
        os.environ.update(
            DATABASE_URL=f"postgres://{args.pg}/{args.db}",
            REDIS_URL=args.redis,
            CELERY_TASK_DEFAULT_QUEUE=args.db,
            DJANGO_SETTINGS_MODULE="concord.settings",
            REGISTER_CHUNK_SIZE=str(args.chunk),
            **s3_environment(endpoint),
        )
        if not args.keep:
            _create_database(args.pg, args.db)
        subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
        import django

        django.setup()
        server_pid = _server_pid(endpoint)
        project = None
        if args.keep:
            from projects.models import Project

            project = Project.objects.order_by("pk").last()
        else:
            _split_one_image()
        for workers in counts:
            processes = _workers(workers)
            try:
                project = _register(workers, processes, server_pid, args.images)
            finally:
                _stop(processes)
        if recompute_counts and not project.memberships.filter(role="labeler").exists():
            _labels_fill(project)
        for workers in recompute_counts:
            processes = _workers(workers)
            try:
                _recompute(project, workers, processes)
            finally:
                _stop(processes)


def _objects_put(client, bucket: str, n: int) -> int:
    """N distinct 640x480 JPEGs (~60-70 KB: a registration reads each in two ranged GETs), made
    once and kept in a cache file beside the temporary folder for the next run."""
    from concurrent.futures import ThreadPoolExecutor

    blobs = _jpegs(n)
    with ThreadPoolExecutor(4) as pool:
        list(
            pool.map(
                lambda k: client.put_object(
                    Bucket=bucket, Key=f"{PREFIX}{k:06}.jpg", Body=blobs[k]
                ),
                range(n),
            )
        )
    return sum(len(b) for b in blobs)


def _jpegs(n: int) -> list[bytes]:
    """Noise over a gradient (photo-like sizes), and a coarse pattern of blocks spelling the
    image's number, so that every image has its own bytes and its own perceptual hash."""
    import pickle
    import tempfile

    from PIL import Image

    cache = Path(tempfile.gettempdir()) / f"concord-bench-storage-{n}.pickle"
    if cache.exists():
        return pickle.loads(cache.read_bytes())
    rng = np.random.default_rng(11)
    ramp = (np.mgrid[0:480, 0:640][1] // 4)[..., None]
    bases = [rng.integers(0, 40, (480, 640, 3), dtype=np.int16) + ramp for _ in range(8)]
    blobs = []
    for k in range(n):
        bits = np.array([(k >> i) & 1 for i in range(48)], dtype=np.int16).reshape(6, 8) * 60
        pattern = np.kron(bits, np.ones((80, 80), dtype=np.int16))[..., None]
        buffer = io.BytesIO()
        pixels = (bases[k % 8] + pattern).clip(0, 255).astype(np.uint8)
        Image.fromarray(pixels).save(buffer, "JPEG", quality=85)
        blobs.append(buffer.getvalue())
    cache.write_bytes(pickle.dumps(blobs))
    return blobs


def _create_database(pg: str, db: str) -> None:
    import psycopg

    with psycopg.connect(f"postgres://{pg}/postgres", autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {db} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {db}")


def _server_pid(endpoint: str) -> int | None:
    port = endpoint.rsplit(":", 1)[1]
    for stat in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            cmdline = stat.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"moto.server" in cmdline and port.encode() in cmdline:
            return int(stat.parent.name)
    return None


def _cpu(pids) -> float:
    total = 0
    for pid in pids:
        if pid is None:
            continue
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime + stime
    return total / os.sysconf("SC_CLK_TCK")


def _workers(count: int) -> list[subprocess.Popen]:
    """`count` separate Celery workers of one process each (-c 1, pool solo: the task runs in
    the process we measure), on the bench queue."""
    from concord.celery import app

    queue = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
    app.control.purge()
    processes = []
    names = []
    for k in range(count):
        name = f"{queue}-{k}@{socket.gethostname()}"
        names.append(name)
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "celery",
                    "-A",
                    "concord",
                    "worker",
                    "-Q",
                    queue,
                    "-n",
                    name,
                    "-P",
                    "solo",
                    "-l",
                    "warning",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                ],
                cwd=ROOT,
                env=os.environ.copy(),
                start_new_session=True,
            )  # fmt: skip
        )
    deadline = time.monotonic() + 90
    for name in names:
        while not app.control.ping(timeout=0.5, destination=[name]):
            if time.monotonic() > deadline:
                _stop(processes)
                raise SystemExit("the Celery workers did not start")
    return processes


def _stop(processes) -> None:
    for process in processes:
        process.terminate()
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def _project(name: str):
    from django.contrib.auth import get_user_model

    from projects.models import Project
    from projects.services import project_create

    lead, _ = get_user_model().objects.get_or_create(username="lead")
    return Project.objects.get(pk=project_create(creator=lead, name=name).pk)


def _register(workers: int, processes, server_pid, n: int):
    from django.db import connection

    from projects.enqueue import registration_enqueue
    from quality.models import AgreementRun

    project = _project(f"Registered with {workers}")
    pids = [p.pid for p in processes]
    cpu_workers, cpu_server = _cpu(pids), _cpu([server_pid])
    t = time.perf_counter()
    run = registration_enqueue(project=project, requested_by=project.created_by, prefix=PREFIX)
    connection.close()  # on_commit ran (autocommit): the listing task is on its way
    while True:
        run = AgreementRun.objects.get(pk=run.pk)
        if run.state in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    wall = time.perf_counter() - t
    cpu_workers, cpu_server = _cpu(pids) - cpu_workers, _cpu([server_pid]) - cpu_server
    counts = run.params["counts"]
    rate = counts["added"] / wall
    print(
        f"register {workers} worker(s): {run.state} {counts} in {wall:.1f} s = {rate:.0f} "
        f"images/s, {rate / workers:.0f} per worker; CPU: workers {cpu_workers:.0f} s "
        f"({cpu_workers / n * 1000:.1f} ms/image), S3 server {cpu_server:.0f} s "
        f"({cpu_server / n * 1000:.1f} ms/image); error={run.error!r}",
        flush=True,
    )
    return project


def _labels_fill(project) -> int:
    """3 labelers x ~6 boxes on each image of the project (COPY); returns the number of boxes."""
    from django.contrib.auth import get_user_model
    from django.db import connection

    from bench.recompute import _copy
    from projects.models import Image, LabelClass, Membership

    User = get_user_model()
    labelers = []
    for name in ("ann", "bob", "cho"):
        user, _ = User.objects.get_or_create(username=f"{name}-{project.pk}")
        Membership.objects.create(project=project, user=user, role="labeler")
        labelers.append(user.pk)
    classes = [
        LabelClass.objects.create(project=project, name=name, order=k).pk
        for k, name in enumerate(("car", "person", "truck"))
    ]
    image_ids = np.array(
        Image.objects.filter(project=project).order_by("pk").values_list("pk", flat=True)
    )
    rng = np.random.default_rng(5)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM annotations_annotation")
        first = cursor.fetchone()[0] + 1
        raw = cursor.connection.cursor()
        annotation_ids = np.arange(first, first + 3 * len(image_ids))
        _copy(
            raw,
            "annotations_annotation",
            ["id", "image_id", "labeler_id", "kind", "status", "started_at", "updated_at",
             "submitted_at", "active_seconds"],
            (
                f"{a}\t{i}\t{u}\tlabel\tsubmitted\t2026-01-01\t2026-01-01\t2026-01-01\t30\n"
                for a, i, u in zip(
                    annotation_ids.tolist(), np.repeat(image_ids, 3).tolist(),
                    np.tile(labelers, len(image_ids)).tolist(), strict=True,
                )
            ),
        )  # fmt: skip
        objects = np.repeat(np.arange(len(image_ids)), 6)
        xy, wh = rng.uniform(0, 540, (len(objects), 2)), rng.uniform(20, 90, (len(objects), 2))
        cls = rng.integers(0, 3, len(objects))
        rows = []
        for k in range(3):
            keep = rng.random(len(objects)) > 0.05
            jitter = rng.normal(0, 1.5, (len(objects), 4))
            box_cls = np.where(rng.random(len(objects)) < 0.03, (cls + 1) % 3, cls)
            rows.append(
                np.column_stack(
                    [annotation_ids[objects * 3 + k], box_cls,
                     np.clip(xy + jitter[:, :2], 0, None), np.clip(wh + jitter[:, 2:], 4, None)]
                )[keep]
            )  # fmt: skip
        table = np.concatenate(rows)
        _copy(
            raw,
            "annotations_box",
            ["annotation_id", "label_class_id", "x", "y", "width", "height"],
            (
                f"{int(a)}\t{classes[int(c)]}\t{x:.2f}\t{y:.2f}\t{w:.2f}\t{h:.2f}\n"
                for a, c, x, y, w, h in table.tolist()
            ),
        )
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('annotations_annotation', 'id'), "
            "(SELECT MAX(id) FROM annotations_annotation))"
        )
        cursor.execute("ANALYZE")
    return len(table)


def _recompute(project, workers: int, processes) -> None:
    """A full recompute from no stored results (each worker count starts from the same state)."""
    from annotations.models import Box
    from quality.enqueue import recompute_start
    from quality.models import AgreementRun

    _results_empty()
    boxes = Box.objects.filter(annotation__image__project=project).count()
    pids = [p.pid for p in processes]
    cpu = _cpu(pids)
    t = time.perf_counter()
    run = recompute_start(project=project, reason="benchmark")
    while True:
        run = AgreementRun.objects.get(pk=run.pk)
        if run.state in ("succeeded", "failed"):
            break
        time.sleep(0.2)
    wall = time.perf_counter() - t
    print(
        f"recompute {workers} worker(s): {run.state} {run.total} images, {boxes} boxes in "
        f"{wall:.1f} s = {run.total / wall:.0f} images/s, {run.total / wall / workers:.0f} per "
        f"worker; CPU of the workers {_cpu(pids) - cpu:.0f} s; error={run.error!r}",
        flush=True,
    )


def _results_empty() -> None:
    """No stored agreement results and no runs (registration objects go with their runs)."""
    from django.db import connection

    from projects.models import RegistrationObject
    from quality.models import AgreementRun, ConsensusBox, Flag, ImageAgreement

    models = (RegistrationObject, AgreementRun, Flag.labelers.through, Flag, ConsensusBox)
    tables = [m._meta.db_table for m in (*models, ImageAgreement)]
    with connection.cursor() as cursor:
        cursor.execute(f"TRUNCATE {', '.join(tables)}")
        cursor.execute(f"VACUUM ANALYZE {ImageAgreement._meta.db_table}")


def _split_one_image() -> None:
    """Per image, single thread in this process: the ranged GETs, then the checks and hashes."""
    import hashlib

    from projects import storage
    from projects.ingest import image_file_check
    from projects.registration import HEAD_BYTES

    keys = [f"{PREFIX}{k:06}.jpg" for k in range(100)]
    t = time.perf_counter()
    blobs = []
    for key in keys:
        head, total = storage.object_range(key, start=0, limit=HEAD_BYTES)
        if total > len(head):
            head += storage.object_range(key, start=len(head), limit=total - len(head))[0]
        blobs.append(head)
    io_ms = (time.perf_counter() - t) / len(keys) * 1000
    t = time.perf_counter()
    for data in blobs:
        hashlib.sha256(data).hexdigest()
        image_file_check(data)
    cpu_ms = (time.perf_counter() - t) / len(keys) * 1000
    print(
        f"one image, one thread: two ranged GETs {io_ms:.1f} ms (the S3 server's time included), "
        f"checks + SHA-256 + perceptual hash {cpu_ms:.1f} ms",
        flush=True,
    )


if __name__ == "__main__":
    main()
