"""Server time of the image browser's pages on a 100,000-image project, per filter and sort.

    .venv/bin/python bench/image_browser.py --db concord_bench_images --images 100000

Creates (or reuses) the database, fills one project with SQL (images, two labelers' label sets
on 60% of them, a few drafts, stored agreement with open flags on half), runs VACUUM ANALYZE,
then requests the browser's page through Django's test Client as the lead: a warm-up, then
--repeat times per variant. Prints the median and worst time and the number of SQL queries.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

VARIANTS = [
    "",
    "?page=1000",
    "?state=untouched",
    "?state=in_progress",
    "?state=complete",
    "?flags=open",
    "?agreement=low",
    "?sort=name",
    "?sort=worst",
    "?sort=flags",
    "?state=complete&sort=worst",
    "?q=img_0999",
]

FILL_SQL = """
INSERT INTO projects_image (project_id, file, original_name, width, height, sha256, uploaded_at,
                            label_set_count)
SELECT %(project)s, 'bench/none.png', 'img_' || lpad(n::text, 6, '0') || '.jpg', 640, 480,
       md5(n::text) || md5((n + 1)::text), now(),
       CASE WHEN n %% 10 < 6 THEN 2 WHEN n %% 10 = 6 THEN 1 ELSE 0 END
FROM generate_series(1, %(n)s) AS n;
INSERT INTO annotations_annotation (image_id, labeler_id, kind, status, started_at, updated_at,
                                    submitted_at, active_seconds)
SELECT i.id, u.id, 'label',
       CASE WHEN i.id %% 500 = 0 AND u.id = %(bob)s THEN 'draft' ELSE 'submitted' END,
       now(), now(),
       CASE WHEN i.id %% 500 = 0 AND u.id = %(bob)s THEN NULL ELSE now() END, 10
FROM projects_image i JOIN auth_user u ON u.id IN (%(ann)s, %(bob)s)
WHERE i.project_id = %(project)s AND i.label_set_count = 2;
INSERT INTO annotations_annotation (image_id, labeler_id, kind, status, started_at, updated_at,
                                    submitted_at, active_seconds)
SELECT i.id, %(ann)s, 'label', 'submitted', now(), now(), now(), 10
FROM projects_image i WHERE i.project_id = %(project)s AND i.label_set_count = 1;
INSERT INTO quality_imageagreement (image_id, score, labeler_count, object_count,
                                    open_flag_count, params, engine_version, input_digest,
                                    computed_at)
SELECT i.id, (i.id %% 97) / 96.0, 2, 5, CASE WHEN i.id %% 2 = 0 THEN i.id %% 4 ELSE 0 END,
       '{}', 'bench', 'bench', now()
FROM projects_image i
WHERE i.project_id = %(project)s AND i.label_set_count = 2 AND i.id %% 500 <> 0;
"""


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="concord_bench_images")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--images", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    user, host = args.pg.split("@")
    subprocess.run(["createdb", "-h", host.split(":")[0], "-U", user, args.db], capture_output=True)
    os.environ.update(
        DATABASE_URL=f"postgres://{args.pg}/{args.db}", DJANGO_SETTINGS_MODULE="concord.settings"
    )
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from projects.models import Membership, Project
    from tests.factories import UserFactory

    call_command("migrate", verbosity=0)
    project = Project.objects.filter(slug="bench-images").first()
    if project is None:
        lead, ann, bob = (UserFactory(username=f"bench_{n}") for n in ("lead", "ann", "bob"))
        project = Project.objects.create(
            name="Bench images", slug="bench-images", created_by=lead, labelers_per_image=2
        )
        Membership.objects.create(project=project, user=lead, role="lead")
        started = time.monotonic()
        with connection.cursor() as cursor:
            cursor.execute(
                FILL_SQL,
                {"project": project.pk, "n": args.images, "ann": ann.pk, "bob": bob.pk},
            )
        print(f"filled {args.images} images in {time.monotonic() - started:.1f} s")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    lead = Membership.objects.get(project=project, role="lead").user
    client = Client()
    client.force_login(lead)
    base = f"/projects/{project.slug}/images/"
    print(f"{project.images.count()} images; {args.repeat} requests per variant")
    print(f"{'variant':32} {'median ms':>10} {'worst ms':>9} {'queries':>8}")
    for variant in VARIANTS:
        client.get(base + variant)
        times = []
        for _ in range(args.repeat):
            with CaptureQueriesContext(connection) as queries:
                started = time.perf_counter()
                response = client.get(base + variant)
                times.append((time.perf_counter() - started) * 1000)
            assert response.status_code == 200, (variant, response.status_code)
        print(
            f"{variant or '(first page)':32} {statistics.median(times):10.1f} "
            f"{max(times):9.1f} {len(queries.captured_queries):8d}"
        )


if __name__ == "__main__":
    main()
