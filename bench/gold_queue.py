"""What gold mixing costs the labeler's requests, in-process (no crowd, so a loaded machine
disturbs both sides alike): queue/next, autosave and submit, with and without gold, interleaved.

    .venv/bin/python bench/gold_queue.py --db concord_gold_bench --rounds 300

(Re)creates the database --db (its tasks go to a Redis queue of that name, no worker: emptied at
the end), seeds two projects as bench/load.py does (5,000 images, N = 3,
--labelers labelers each), one of them with --gold gold images mixed in at --gold-rate (no
qualification set), then --rounds times, alternating between the projects: one labeler takes
an image, saves two boxes and submits, through Django's test client (token auth, the full
middleware and DRF stack). Prints per project and request kind the p50/p95 time and the
statements run; the gold project's draws that served a gold image, and their submits, are
shown on their own lines (a gold draw must cost what a regular one does: its time must not
tell it apart, and at a 10 % rate a costlier gold draw is the queue's p95).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", default="concord_gold_bench")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--labelers", type=int, default=20)
    parser.add_argument("--gold", type=int, default=200)
    parser.add_argument("--gold-rate", type=float, default=0.1)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=f"postgres://{args.pg}/{args.db}",
        DJANGO_SETTINGS_MODULE="concord.settings",
        DEBUG="0",
        SECRET_KEY="gold-bench-" + "x" * 50,
        ALLOWED_HOSTS="testserver,127.0.0.1",
        SECURE_SSL_REDIRECT="0",
        PYTHONWARNINGS="ignore:No directory at",
        # Tasks go to a queue of their own that no worker reads (emptied at the end): requests
        # are timed without the assessments a complete image starts.
        REDIS_URL=args.redis,
        CELERY_TASK_DEFAULT_QUEUE=args.db,
    )
    from bench.load import _create_database, seed_gold, seed_project

    _create_database(args.pg, args.db)
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, check=True)
    import django

    django.setup()
    from django.core import signals
    from django.db import close_old_connections, connection, reset_queries
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    from annotations.models import Annotation

    projects = {}
    for name in ("plain", "gold"):
        project, usernames, class_ids = seed_project(
            images=5000, labelers=args.labelers, per_image=3, prefix=name
        )
        if name == "gold":
            seed_gold(project, args.gold, args.gold_rate)
        clients = []
        for username in usernames:
            client = APIClient()
            token = Token.objects.create(
                user_id=project.memberships.get(user__username=username).user_id
            )
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
            clients.append(client)
        projects[name] = (project, clients, class_ids)

    # One connection for the whole run, as a worker keeps it: statements are counted per request.
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    signals.request_started.disconnect(reset_queries)  # it would empty what is being counted
    times: dict[tuple[str, str], list[float]] = {}
    statements: dict[tuple[str, str], list[int]] = {}
    rng = random.Random(1)

    def timed(side: str, kind: str, client, method: str, url: str, **kwargs):
        reset_queries()  # the log keeps 9,000 statements: a full one counts nothing new
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = getattr(client, method)(url, **kwargs)
            elapsed = (time.perf_counter() - start) * 1000
        times.setdefault((side, kind), []).append(elapsed)
        statements.setdefault((side, kind), []).append(len(captured))
        return response

    served = {"plain": 0, "gold": 0}
    gold_served = 0
    for k in range(args.rounds):
        for side in ("plain", "gold") if k % 2 == 0 else ("gold", "plain"):
            project, clients, class_ids = projects[side]
            client = clients[rng.randrange(len(clients))]
            url = f"/api/projects/{project.pk}/queue/next/"
            response = timed(side, "queue_next", client, "post", url)
            if response.status_code != 200:
                continue
            annotation = response.json()["annotation"]
            is_gold = Annotation.objects.filter(pk=annotation, kind="gold").exists()
            if is_gold:  # a gold draw on its own line: the queue's tail if it costs more
                for figures in (times, statements):
                    figures.setdefault((side, "queue_next (gold image)"), []).append(
                        figures[side, "queue_next"].pop()
                    )
            served[side] += 1
            gold_served += is_gold
            boxes = [
                {"x": 40 + j * 200, "y": 40, "width": 120, "height": 90, "label_class": c}
                for j, c in enumerate(class_ids)
            ]
            url = f"/api/annotations/{annotation}/"
            timed(side, "autosave", client, "put", url, data={"boxes": boxes}, format="json")
            kind = "submit (gold image)" if is_gold else "submit"
            timed(side, kind, client, "post", f"{url}submit/", data={}, format="json")

    print(
        f"{args.rounds} rounds per side, {args.labelers} labelers per project; the gold "
        f"project: {args.gold} gold images at {args.gold_rate:.0%}; {gold_served} of "
        f"{served['gold']} images it served were gold; load average {os.getloadavg()[0]:.1f}\n"
    )
    print("| request | side | n | p50 ms | p95 ms | statements (median) |")
    print("|---|---|---|---|---|---|")
    for (side, kind), values in sorted(times.items(), key=lambda item: (item[0][1], item[0][0])):
        values = sorted(values)
        p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
        print(
            f"| {kind} | {side} | {len(values)} | {statistics.median(values):.1f} | {p95:.1f} | "
            f"{statistics.median(statements[side, kind]):.0f} |"
        )


if __name__ == "__main__":
    main()
