"""Benchmark: the project summary after one submit, on a filled bench project.

    .venv/bin/python bench/recompute.py --images 100000 --db concord_bench   # fill + recompute
    .venv/bin/python bench/summary.py --db concord_bench --repeat 5

Each round is what the pipeline does after a labeler submits: one new image gets its third label
set, is assessed (``images_refresh``, in this process), then ``project_summarize`` runs. The
headline is the summary's wall time (what delays the report's figures), with the rows it read:
every figure of ProjectAgreement and LabelerAgreement is rewritten each time.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", default="concord_bench")
    parser.add_argument("--pg", default="postgres@127.0.0.1:5432")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    os.environ.update(
        DATABASE_URL=f"postgres://{args.pg}/{args.db}", DJANGO_SETTINGS_MODULE="concord.settings"
    )
    os.environ.pop("REDIS_URL", None)  # tasks eager: nothing is enqueued behind our back
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from projects.models import Project
    from quality.models import ImageAgreement, LabelerAgreement
    from quality.services.assessment import images_refresh
    from quality.services.summary import project_summarize

    project = Project.objects.get(slug="bench")
    assessed = ImageAgreement.objects.filter(image__project=project).count()
    print(f"project: {assessed} assessed images")
    project_summarize(project=project)  # a first summary (fills the sample cache, if any)
    times = []
    for k in range(args.repeat):
        image_id = _one_submit(project, k)
        images_refresh(image_ids=[image_id])
        t = time.perf_counter()
        summary = project_summarize(project=project)
        times.append(time.perf_counter() - t)
        labelers = LabelerAgreement.objects.filter(project=project).count()
        print(
            f"  round {k}: summary {times[-1]:.3f} s ({summary.images_assessed} images, "
            f"{labelers} labelers, K-alpha {summary.kalpha})"
        )
    print(
        f"project_summarize after one submit: median {np.median(times):.3f} s, "
        f"max {max(times):.3f} s over {len(times)} rounds"
    )


def _one_submit(project, k: int) -> int:
    """A new image with three submitted label sets (the third just submitted); its id."""
    from django.contrib.auth import get_user_model
    from django.utils import timezone

    from annotations.models import Annotation, Box
    from projects.models import Image, LabelClass

    users = {
        u.username: u for u in get_user_model().objects.filter(username__in=["ann", "bob", "cho"])
    }
    car = LabelClass.objects.get(project=project, name="car")
    stamp = time.time_ns()
    image = Image.objects.create(
        project=project, file=f"bench/s{stamp}.jpg", original_name=f"s{stamp}.jpg", width=640,
        height=480, sha256=f"{stamp:064x}"[-64:], phash=stamp % (2**62),
    )  # fmt: skip
    for name in ("ann", "bob", "cho"):
        annotation = Annotation.objects.create(
            image=image, labeler=users[name], status="submitted", submitted_at=timezone.now()
        )
        Box.objects.bulk_create(
            Box(annotation=annotation, label_class=car, x=10 + 60 * j + k, y=10, width=50,
                height=40)
            for j in range(6)
        )  # fmt: skip
    return image.pk


if __name__ == "__main__":
    main()
