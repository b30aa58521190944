"""Selectors of the minute sweep: images whose stored assessment is missing or stale.

What a lost task message (a broker restart) leaves behind, found from the tables alone and
through indexes, so that a pass costs what changed since the last one, not the project's size:
Image.labels_changed_at (kept by triggers, annotations migration 0004) for label changes, the
engine_version and figures_version indexes for results of another engine or figures version, and a scan of a project's assessments only
while its thresholds are not known to be current (the caller remembers which are).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.db.models.functions import Coalesce

from projects.models import Project
from quality.engine import ENGINE_VERSION
from quality.engine.figures import FIGURES_VERSION
from quality.models import AgreementRun

# The image's agreement is read by a correlated subquery, so that each image of the window is
# one probe of the agreement's unique index whatever the statistics say (a join let the planner
# read the whole agreement index when they were stale).
CHANGED_TO_SWEEP_SQL = """
SELECT project_id, id FROM (
    SELECT image.project_id, image.id, image.labels_changed_at, image.submitted_count,
        project.labelers_per_image,
        (SELECT agreement.computed_at FROM quality_imageagreement AS agreement
            WHERE agreement.image_id = image.id) AS computed_at
    FROM projects_image AS image
    JOIN projects_project AS project ON project.id = image.project_id
    WHERE {changed} AND {skipped}
) AS image
WHERE (computed_at IS NULL
        AND submitted_count >= labelers_per_image
        AND labels_changed_at < %(settled_before)s)
    OR (computed_at IS NOT NULL AND (
        submitted_count < labelers_per_image
        OR (labels_changed_at < %(settled_before)s AND computed_at < labels_changed_at)
    ))
ORDER BY labels_changed_at
LIMIT %(limit)s
"""

# The lowest and highest engine versions stored: two probes of the engine_version index on both
# databases whatever the statistics say (right after a recompute they are stale, and a range
# query on the index was planned as a scan of every row). Equal to the engine's own: nothing
# else to look for.
ENGINE_VERSIONS_SQL = """
SELECT (SELECT min(engine_version) FROM quality_imageagreement),
    (SELECT max(engine_version) FROM quality_imageagreement)
"""

FIGURES_VERSIONS_SQL = """
SELECT (SELECT min(figures_version) FROM quality_imageagreement),
    (SELECT max(figures_version) FROM quality_imageagreement)
"""

# Two ranges rather than <>: both databases can read them from the engine_version index; each
# one's image by a probe of its primary key.
OTHER_ENGINE_SQL = """
SELECT project_id, id FROM (
    SELECT (SELECT image.project_id FROM projects_image AS image
            WHERE image.id = agreement.image_id) AS project_id,
        agreement.image_id AS id
    FROM quality_imageagreement AS agreement
    WHERE agreement.engine_version < %(engine)s OR agreement.engine_version > %(engine)s
        OR agreement.figures_version < %(figures)s OR agreement.figures_version > %(figures)s
) AS image
WHERE {skipped}
LIMIT %(limit)s
"""

OTHER_THRESHOLDS_SQL = """
SELECT image.project_id, image.id
FROM projects_image AS image
JOIN quality_imageagreement AS agreement ON agreement.image_id = image.id
WHERE image.project_id = %(project)s
    AND (CAST({match_iou} AS double precision) <> %(match_iou)s
        OR CAST({low_iou} AS double precision) <> %(low_iou)s)
LIMIT %(limit)s
"""


@dataclass(frozen=True)
class SweepFound:
    """What sweep_find found: ``images`` {project: sorted ids}; ``complete``: fewer than the
    limit, so nothing else is left to find in what was looked at; ``thresholds_current``
    {project: (match_iou, low_iou)}: projects known to hold no result of other thresholds."""

    images: dict[int, list[int]]
    complete: bool
    thresholds_current: dict[int, tuple[float, float]]


def sweep_find(
    *,
    limit: int,
    settled_before,
    runs_after,
    changed_after=None,
    thresholds_current: dict[int, tuple[float, float]] | None = None,
) -> SweepFound:
    """Images whose stored assessment is missing or stale, at most ``limit``.

    What a lost task message (a broker restart) leaves behind, found from the tables alone,
    each through an index or bounded to the projects that need it:

    - among the images whose labels changed at or after ``changed_after`` (Image's
      trigger-kept labels_changed_at; None: every image), a complete image with no
      assessment, or whose submitted labels changed after it was assessed (both only once the
      change is older than ``settled_before``, so the task the change enqueued has had its
      chance), and an assessed image that is no longer complete;
    - an assessment made with another engine version;
    - an assessment made with other thresholds than its project's, looked for only in the
      projects whose thresholds are not those in ``thresholds_current`` (None: in every
      project): that reads the project's assessments, so the caller remembers the projects
      found clean (returned as ``thresholds_current``) and passes them next time.

    Projects with an unfinished recompute run that showed signs of life (created, or a chunk
    started or finished) after ``runs_after`` are left to that run.
    """
    live = set(
        AgreementRun.objects.annotate(seen=Coalesce("heartbeat_at", "created_at"))
        .filter(
            state__in=[AgreementRun.State.PENDING, AgreementRun.State.RUNNING],
            seen__gte=runs_after,
        )
        .values_list("project_id", flat=True)
    )
    skipped = f"image.project_id NOT IN ({', '.join(map(str, sorted(live)))})" if live else "TRUE"
    params = {"engine": ENGINE_VERSION, "figures": FIGURES_VERSION, "limit": limit}
    rows = set()
    engines = _sweep_rows(ENGINE_VERSIONS_SQL, {}) - {
        (ENGINE_VERSION, ENGINE_VERSION),
        (None, None),
    }
    figures = _sweep_rows(FIGURES_VERSIONS_SQL, {}) - {
        (FIGURES_VERSION, FIGURES_VERSION),
        (None, None),
    }
    if engines or figures:
        rows = _sweep_rows(OTHER_ENGINE_SQL.format(skipped=skipped), params)
    if len(rows) < limit:
        changed = "TRUE"
        if changed_after is not None:
            changed = "image.labels_changed_at >= %(changed_after)s"
            params["changed_after"] = connection.ops.adapt_datetimefield_value(changed_after)
        params["settled_before"] = connection.ops.adapt_datetimefield_value(settled_before)
        params["limit"] = limit - len(rows)
        sql = CHANGED_TO_SWEEP_SQL.format(changed=changed, skipped=skipped)
        rows |= _sweep_rows(sql, params)

    known = thresholds_current or {}
    current = {}
    projects = Project.objects.order_by("pk").values_list("pk", "match_iou", "low_iou")
    for project_id, match_iou, low_iou in projects:
        if known.get(project_id) == (match_iou, low_iou):
            current[project_id] = (match_iou, low_iou)
        elif project_id not in live and len(rows) < limit:
            found = _sweep_rows(
                _params_keys(OTHER_THRESHOLDS_SQL),
                {
                    "project": project_id,
                    "match_iou": match_iou,
                    "low_iou": low_iou,
                    "limit": limit - len(rows),
                },
            )
            if not found:
                current[project_id] = (match_iou, low_iou)
            rows |= found
    images: dict[int, list[int]] = {}
    for project_id, pk in sorted(rows):
        images.setdefault(project_id, []).append(pk)
    return SweepFound(images, len(rows) < limit, current)


def images_to_sweep(**kwargs) -> dict[int, list[int]]:
    """The images of sweep_find (same arguments): {project: image ids}."""
    return sweep_find(**kwargs).images


def _params_keys(sql: str) -> str:
    """The SQL with the stored params' match_iou and low_iou read: ->> on PostgreSQL;
    json_extract on SQLite (->> needs 3.38)."""
    if connection.vendor == "postgresql":
        key = "agreement.params ->> '{}'"
    else:
        key = "json_extract(agreement.params, '$.{}')"
    return sql.format(match_iou=key.format("match_iou"), low_iou=key.format("low_iou"))


def _sweep_rows(sql: str, params: dict) -> set[tuple[int, int]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return set(cursor.fetchall())
