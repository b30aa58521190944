"""Image.submitted_count and Image.labels_changed_at, kept by the database, and a backfill.

Triggers on the annotations table, in the style of migration 0003 (label_set_count): every path
that submits, edits, withdraws or deletes a labeler's label set (the API, the admin, a cascade,
a bulk COPY, a test's fixture) keeps them right.

- ``submitted_count``: the image's label sets of kind label with status submitted.
- ``labels_changed_at``: the latest ``updated_at`` of those (what the agreement sweep compared
  with before, through a GROUP BY over every annotation), or the time a submitted label set was
  withdrawn or deleted, whichever is later: the sweep reads the images changed since it last
  looked through an index on it.

Only rows that are or were a submitted label set, and whose image, kind, status or updated_at
moved, touch the image row: a draft's autosave or a re-submit that changes nothing takes no
image lock. On PostgreSQL, statement triggers over transition tables (one UPDATE per statement,
however many rows a COPY brings; an UPDATE recounts its images from the table); SQLite gets row
triggers with the same effect.
"""

from django.db import migrations

POSTGRESQL_FORWARD = """
CREATE FUNCTION annotation_submitted_label_sets() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE projects_image AS image
        SET submitted_count = image.submitted_count + added.n,
            labels_changed_at = GREATEST(image.labels_changed_at, added.changed)
        FROM (SELECT image_id, count(*) AS n, max(updated_at) AS changed FROM new_rows
              WHERE kind = 'label' AND status = 'submitted' GROUP BY image_id) AS added
        WHERE image.id = added.image_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE projects_image AS image
        SET submitted_count = image.submitted_count - removed.n,
            labels_changed_at = GREATEST(image.labels_changed_at, statement_timestamp())
        FROM (SELECT image_id, count(*) AS n FROM old_rows
              WHERE kind = 'label' AND status = 'submitted' GROUP BY image_id) AS removed
        WHERE image.id = removed.image_id;
    ELSE
        UPDATE projects_image AS image
        SET submitted_count = current.n,
            labels_changed_at = GREATEST(current.changed, moved.left_at)
        FROM (
            SELECT image_id, max(left_at) AS left_at FROM (
                SELECT n.image_id, NULL::timestamptz AS left_at, n.id FROM new_rows n
                JOIN old_rows o ON o.id = n.id
                WHERE ((n.kind = 'label' AND n.status = 'submitted')
                       OR (o.kind = 'label' AND o.status = 'submitted'))
                    AND (n.image_id, n.kind, n.status, n.updated_at)
                        IS DISTINCT FROM (o.image_id, o.kind, o.status, o.updated_at)
                UNION ALL
                SELECT o.image_id, statement_timestamp(), o.id FROM old_rows o JOIN new_rows n ON n.id = o.id
                WHERE o.kind = 'label' AND o.status = 'submitted'
                    AND NOT (n.kind = 'label' AND n.status = 'submitted'
                             AND n.image_id = o.image_id)
            ) AS rows GROUP BY image_id
        ) AS moved
        CROSS JOIN LATERAL (
            SELECT count(*) AS n, max(updated_at) AS changed FROM annotations_annotation AS a
            WHERE a.image_id = moved.image_id AND a.kind = 'label' AND a.status = 'submitted'
        ) AS current
        WHERE image.id = moved.image_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER annotation_submitted_inserted AFTER INSERT ON annotations_annotation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotation_submitted_label_sets();
CREATE TRIGGER annotation_submitted_deleted AFTER DELETE ON annotations_annotation
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotation_submitted_label_sets();
CREATE TRIGGER annotation_submitted_updated AFTER UPDATE ON annotations_annotation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotation_submitted_label_sets();
"""

POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS annotation_submitted_inserted ON annotations_annotation;
DROP TRIGGER IF EXISTS annotation_submitted_deleted ON annotations_annotation;
DROP TRIGGER IF EXISTS annotation_submitted_updated ON annotations_annotation;
DROP FUNCTION IF EXISTS annotation_submitted_label_sets();
"""

# Django stores SQLite datetimes as UTC text, 'YYYY-MM-DD HH:MM:SS.ffffff'; these compare as
# text, and max() of a NULL is NULL, hence the COALESCE.
SQLITE_NOW = "strftime('%Y-%m-%d %H:%M:%f', 'now')"

SQLITE_FORWARD = [
    """
    CREATE TRIGGER annotation_submitted_inserted AFTER INSERT ON annotations_annotation
    WHEN NEW.kind = 'label' AND NEW.status = 'submitted' BEGIN
        UPDATE projects_image SET submitted_count = submitted_count + 1,
            labels_changed_at = max(COALESCE(labels_changed_at, ''), NEW.updated_at)
        WHERE id = NEW.image_id;
    END
    """,
    f"""
    CREATE TRIGGER annotation_submitted_deleted AFTER DELETE ON annotations_annotation
    WHEN OLD.kind = 'label' AND OLD.status = 'submitted' BEGIN
        UPDATE projects_image SET submitted_count = submitted_count - 1,
            labels_changed_at = max(COALESCE(labels_changed_at, ''), {SQLITE_NOW})
        WHERE id = OLD.image_id;
    END
    """,
    f"""
    CREATE TRIGGER annotation_submitted_updated
    AFTER UPDATE OF image_id, kind, status, updated_at ON annotations_annotation
    WHEN ((NEW.kind = 'label' AND NEW.status = 'submitted')
          OR (OLD.kind = 'label' AND OLD.status = 'submitted'))
        AND (NEW.image_id <> OLD.image_id OR NEW.kind <> OLD.kind OR NEW.status <> OLD.status
             OR NEW.updated_at IS NOT OLD.updated_at) BEGIN
        UPDATE projects_image SET
            submitted_count = (
                SELECT count(*) FROM annotations_annotation AS a
                WHERE a.image_id = projects_image.id AND a.kind = 'label'
                    AND a.status = 'submitted'),
            labels_changed_at = (
                SELECT max(a.updated_at) FROM annotations_annotation AS a
                WHERE a.image_id = projects_image.id AND a.kind = 'label'
                    AND a.status = 'submitted')
        WHERE id IN (NEW.image_id, OLD.image_id);
        UPDATE projects_image
        SET labels_changed_at = max(COALESCE(labels_changed_at, ''), {SQLITE_NOW})
        WHERE id = OLD.image_id AND OLD.kind = 'label' AND OLD.status = 'submitted'
            AND NOT (NEW.kind = 'label' AND NEW.status = 'submitted'
                     AND NEW.image_id = OLD.image_id);
    END
    """,
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS annotation_submitted_inserted",
    "DROP TRIGGER IF EXISTS annotation_submitted_deleted",
    "DROP TRIGGER IF EXISTS annotation_submitted_updated",
]

POSTGRESQL_BACKFILL = """
UPDATE projects_image AS image SET submitted_count = labels.n, labels_changed_at = labels.changed
FROM (SELECT image_id, count(*) AS n, max(updated_at) AS changed FROM annotations_annotation
      WHERE kind = 'label' AND status = 'submitted' GROUP BY image_id) AS labels
WHERE image.id = labels.image_id
"""

SQLITE_BACKFILL = """
UPDATE projects_image SET
    submitted_count = (
        SELECT count(*) FROM annotations_annotation AS a
        WHERE a.image_id = projects_image.id AND a.kind = 'label' AND a.status = 'submitted'),
    labels_changed_at = (
        SELECT max(a.updated_at) FROM annotations_annotation AS a
        WHERE a.image_id = projects_image.id AND a.kind = 'label' AND a.status = 'submitted')
"""


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD)
        schema_editor.execute(POSTGRESQL_BACKFILL)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
        schema_editor.execute(SQLITE_BACKFILL)
    else:
        raise NotImplementedError(f"Image.submitted_count has no triggers for {vendor}.")


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD)
    else:
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0003_drafts_index_and_label_set_triggers"),
        ("projects", "0007_image_phash_bands_and_labels_changed"),
    ]

    operations = [migrations.RunPython(triggers_create, triggers_drop, elidable=False)]
