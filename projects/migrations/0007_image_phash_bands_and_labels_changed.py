"""Image: the perceptual hash's pigeonhole bands (near-duplicate index), submitted_count and
labels_changed_at (kept by triggers of annotations migration 0004), and their indexes.

The bands are stored generated columns: the database computes them wherever phash is written
(an upload, a COPY, an UPDATE, a backfill of the rows already there when the column is added).

SQLite adds a stored generated column by rebuilding the table (a new table, a copy, a rename);
triggers of other tables that name projects_image (annotations migration 0003's) make that
rename fail, so they are set aside in a temporary table for the rebuild and created again.
"""

import django.db.models.expressions
from django.db import migrations, models

ASIDE = "concord_triggers_aside"


def sqlite_triggers_set_aside(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    schema_editor.execute(
        f"CREATE TEMPORARY TABLE {ASIDE} AS SELECT name, sql FROM sqlite_master "
        "WHERE type = 'trigger' AND sql LIKE '%projects_image%'"
    )
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT name FROM {ASIDE}")
        names = [name for (name,) in cursor.fetchall()]
    for name in names:
        schema_editor.execute(f'DROP TRIGGER "{name}"')


def sqlite_triggers_restore(apps, schema_editor):
    if schema_editor.connection.vendor != "sqlite":
        return
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(f"SELECT sql FROM {ASIDE}")
        statements = [sql for (sql,) in cursor.fetchall()]
    for sql in statements:
        schema_editor.execute(sql)
    schema_editor.execute(f"DROP TABLE {ASIDE}")


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0006_image_by_name"),
        ("annotations", "0003_drafts_index_and_label_set_triggers"),
    ]

    operations = [
        migrations.RunPython(sqlite_triggers_set_aside, sqlite_triggers_restore, elidable=False),
        migrations.AddField(
            model_name="image",
            name="labels_changed_at",
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text="When the image's submitted label sets last changed: the latest updated_at of its submitted label sets, or when one was withdrawn or deleted. Kept by database triggers (annotations migration 0004); the agreement sweep reads recent ones.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="image",
            name="phash_band_0",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.expressions.CombinedExpression(
                    django.db.models.expressions.CombinedExpression(
                        models.F("phash"), ">>", models.Value(0)
                    ),
                    "&",
                    models.Value(4095),
                ),
                help_text="Bits 0 to 11 of phash (near-duplicate index).",
                output_field=models.IntegerField(null=True),
            ),
        ),
        migrations.AddField(
            model_name="image",
            name="phash_band_1",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.expressions.CombinedExpression(
                    django.db.models.expressions.CombinedExpression(
                        models.F("phash"), ">>", models.Value(12)
                    ),
                    "&",
                    models.Value(8191),
                ),
                help_text="Bits 12 to 24 of phash (near-duplicate index).",
                output_field=models.IntegerField(null=True),
            ),
        ),
        migrations.AddField(
            model_name="image",
            name="phash_band_2",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.expressions.CombinedExpression(
                    django.db.models.expressions.CombinedExpression(
                        models.F("phash"), ">>", models.Value(25)
                    ),
                    "&",
                    models.Value(8191),
                ),
                help_text="Bits 25 to 37 of phash (near-duplicate index).",
                output_field=models.IntegerField(null=True),
            ),
        ),
        migrations.AddField(
            model_name="image",
            name="phash_band_3",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.expressions.CombinedExpression(
                    django.db.models.expressions.CombinedExpression(
                        models.F("phash"), ">>", models.Value(38)
                    ),
                    "&",
                    models.Value(8191),
                ),
                help_text="Bits 38 to 50 of phash (near-duplicate index).",
                output_field=models.IntegerField(null=True),
            ),
        ),
        migrations.AddField(
            model_name="image",
            name="phash_band_4",
            field=models.GeneratedField(
                db_persist=True,
                expression=django.db.models.expressions.CombinedExpression(
                    django.db.models.expressions.CombinedExpression(
                        models.F("phash"), ">>", models.Value(51)
                    ),
                    "&",
                    models.Value(8191),
                ),
                help_text="Bits 51 to 63 of phash (near-duplicate index).",
                output_field=models.IntegerField(null=True),
            ),
        ),
        migrations.AddField(
            model_name="image",
            name="submitted_count",
            field=models.PositiveIntegerField(
                db_default=0,
                default=0,
                editable=False,
                help_text="Labelers' submitted label sets on the image. Kept by database triggers on the annotations table (annotations migration 0004).",
            ),
        ),
        migrations.RunPython(sqlite_triggers_restore, sqlite_triggers_set_aside, elidable=False),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["labels_changed_at"], name="image_labels_changed"),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["project", "phash_band_0"], name="image_phash_band_0"),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["project", "phash_band_1"], name="image_phash_band_1"),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["project", "phash_band_2"], name="image_phash_band_2"),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["project", "phash_band_3"], name="image_phash_band_3"),
        ),
        migrations.AddIndex(
            model_name="image",
            index=models.Index(fields=["project", "phash_band_4"], name="image_phash_band_4"),
        ),
    ]
