"""Server time of the lead's pages on a filled project: the report, the flag queue, the flag API.

    .venv/bin/python bench/recompute.py --images 100000 --workers 2 --db concord_bench_report
    .venv/bin/python bench/report.py --db concord_bench_report

Requests go through Django's test Client in this process (the whole middleware, view and
template stack, no network), logged in as the project's lead. Each page is requested once to
warm up, then --repeat times; the script prints the median and the worst time, the number of
SQL queries of one request and the time PostgreSQL took for them, and the slowest query.
It reads only (a session row is written for the login); run it after bench/recompute.py.

Before timing it runs VACUUM ANALYZE (what autovacuum does within minutes of a bulk load), so
that plans and index-only scans are those of a settled database; --no-vacuum skips it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="concord_bench_report")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--project", default="bench", help="slug of the project to time")
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--no-vacuum", action="store_true", help="time without VACUUM ANALYZE")
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=f"postgres://{args.pg}/{args.db}", DJANGO_SETTINGS_MODULE="concord.settings"
    )
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from projects.models import Membership, Project
    from quality.models import Flag

    if not args.no_vacuum:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")
    project = Project.objects.get(slug=args.project)
    lead = Membership.objects.filter(project=project, role="lead").select_related("user").first()
    labeler = Membership.objects.filter(project=project, role="labeler").first()
    flag = Flag.objects.filter(project=project, status="open").order_by("image_id", "id").first()
    images = project.images.count()
    flags = Flag.objects.filter(project=project).count()
    print(f"project {project.slug}: {images} images, {flags} flags; {args.repeat} requests each")

    client = Client()
    client.force_login(lead.user)
    base, api = f"/projects/{project.slug}", f"/api/projects/{project.pk}"
    pages = [
        ("report page", f"{base}/report/"),
        ("agreement API", f"{api}/agreement/"),
        ("flag queue page", f"{base}/flags/"),
        ("flag queue, one labeler", f"{base}/flags/?labeler={labeler.user_id}&status=all"),
        ("review page", f"{base}/flags/{flag.pk}/" if flag else None),
        ("flag API", f"{api}/flags/"),
        ("flag API, one kind", f"{api}/flags/?kind=missing&status=open"),
    ]
    print(f"{'page':<26}{'median ms':>10}{'max ms':>9}{'queries':>9}{'SQL ms':>8}  slowest query")
    for name, url in pages:
        if url is None:
            continue
        assert client.get(url).status_code == 200, url  # warm-up, and it must work
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            response = client.get(url)
            times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, url
        with CaptureQueriesContext(connection) as captured:
            client.get(url)
        sql = [(float(q["time"]) * 1000, q["sql"]) for q in captured.captured_queries]
        slowest = max(sql) if sql else (0.0, "")
        print(
            f"{name:<26}{statistics.median(times):>10.1f}{max(times):>9.1f}{len(sql):>9}"
            f"{sum(t for t, _ in sql):>8.1f}  {slowest[0]:.1f} ms {slowest[1][:70]}"
        )


if __name__ == "__main__":
    main()
