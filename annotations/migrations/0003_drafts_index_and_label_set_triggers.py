"""Image.label_set_count, kept by the database: triggers on the annotations table, and a backfill.

Triggers rather than code in the services: every path that adds or removes a labeler's label set
(the queue, the admin, a cascade, a bulk COPY into the table, a test's fixture) keeps the count
right, and the queue can trust it. On PostgreSQL they are statement triggers over transition
tables (one UPDATE per statement, however many rows a COPY brings); an UPDATE that moves no label
set (an autosave touching updated_at) updates no image row, so it takes no image lock. SQLite
gets row triggers with the same effect.
"""

from django.conf import settings
from django.db import migrations, models

POSTGRESQL_FORWARD = """
CREATE FUNCTION annotation_label_sets_count() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE projects_image AS image SET label_set_count = image.label_set_count + moved.n
        FROM (SELECT image_id, count(*) AS n FROM new_rows WHERE kind = 'label'
              GROUP BY image_id) AS moved
        WHERE image.id = moved.image_id;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE projects_image AS image SET label_set_count = image.label_set_count - moved.n
        FROM (SELECT image_id, count(*) AS n FROM old_rows WHERE kind = 'label'
              GROUP BY image_id) AS moved
        WHERE image.id = moved.image_id;
    ELSE
        UPDATE projects_image AS image SET label_set_count = image.label_set_count + moved.n
        FROM (SELECT image_id, sum(n) AS n FROM (
                  SELECT image_id, 1 AS n FROM new_rows WHERE kind = 'label'
                  UNION ALL
                  SELECT image_id, -1 AS n FROM old_rows WHERE kind = 'label'
              ) AS changes GROUP BY image_id HAVING sum(n) <> 0) AS moved
        WHERE image.id = moved.image_id;
    END IF;
    RETURN NULL;
END
$$;
CREATE TRIGGER annotation_label_sets_inserted AFTER INSERT ON annotations_annotation
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotation_label_sets_count();
CREATE TRIGGER annotation_label_sets_deleted AFTER DELETE ON annotations_annotation
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotation_label_sets_count();
CREATE TRIGGER annotation_label_sets_updated AFTER UPDATE ON annotations_annotation
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION annotation_label_sets_count();
"""

POSTGRESQL_BACKWARD = """
DROP TRIGGER IF EXISTS annotation_label_sets_inserted ON annotations_annotation;
DROP TRIGGER IF EXISTS annotation_label_sets_deleted ON annotations_annotation;
DROP TRIGGER IF EXISTS annotation_label_sets_updated ON annotations_annotation;
DROP FUNCTION IF EXISTS annotation_label_sets_count();
"""

SQLITE_FORWARD = [
    """
    CREATE TRIGGER annotation_label_sets_inserted AFTER INSERT ON annotations_annotation
    WHEN NEW.kind = 'label' BEGIN
        UPDATE projects_image SET label_set_count = label_set_count + 1 WHERE id = NEW.image_id;
    END
    """,
    """
    CREATE TRIGGER annotation_label_sets_deleted AFTER DELETE ON annotations_annotation
    WHEN OLD.kind = 'label' BEGIN
        UPDATE projects_image SET label_set_count = label_set_count - 1 WHERE id = OLD.image_id;
    END
    """,
    """
    CREATE TRIGGER annotation_label_sets_updated AFTER UPDATE OF image_id, kind
    ON annotations_annotation
    WHEN OLD.image_id <> NEW.image_id OR OLD.kind <> NEW.kind BEGIN
        UPDATE projects_image SET label_set_count = label_set_count - 1
        WHERE id = OLD.image_id AND OLD.kind = 'label';
        UPDATE projects_image SET label_set_count = label_set_count + 1
        WHERE id = NEW.image_id AND NEW.kind = 'label';
    END
    """,
]

SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS annotation_label_sets_inserted",
    "DROP TRIGGER IF EXISTS annotation_label_sets_deleted",
    "DROP TRIGGER IF EXISTS annotation_label_sets_updated",
]

BACKFILL = """
UPDATE projects_image SET label_set_count = (
    SELECT count(*) FROM annotations_annotation AS annotation
    WHERE annotation.image_id = projects_image.id AND annotation.kind = 'label'
)
"""


def triggers_create(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_FORWARD)
    elif vendor == "sqlite":
        for statement in SQLITE_FORWARD:
            schema_editor.execute(statement)
    else:
        raise NotImplementedError(f"Image.label_set_count has no triggers for {vendor}.")
    schema_editor.execute(BACKFILL)


def triggers_drop(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRESQL_BACKWARD)
    else:
        for statement in SQLITE_BACKWARD:
            schema_editor.execute(statement)


class Migration(migrations.Migration):
    dependencies = [
        ("annotations", "0002_default_ordering_by_ids"),
        ("projects", "0003_image_label_set_count"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="annotation",
            index=models.Index(
                condition=models.Q(("kind", "label"), ("status", "draft")),
                fields=["updated_at"],
                name="annotation_drafts_by_age",
            ),
        ),
        migrations.RunPython(triggers_create, triggers_drop, elidable=False),
    ]
