"""The labelers of a flag get an explicit through model, FlagLabeler, with ``deviating``.

The table is the one Django made for the many-to-many (quality_flag_labelers): the model takes
it over in the state only, then a column is added. Existing rows start as not deviating; the
engine version bump (1.3.0) makes every assessed image stale, and the sweep re-assesses them,
which fills the column.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
        ("quality", "0005_agreementrun_heartbeat"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="FlagLabeler",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "flag",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="labeler_rows",
                                to="quality.flag",
                            ),
                        ),
                        (
                            "user",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "quality_flag_labelers",
                        "unique_together": {("flag", "user")},
                    },
                ),
                migrations.AlterField(
                    model_name="flag",
                    name="labelers",
                    field=models.ManyToManyField(
                        blank=True,
                        help_text="Everyone involved, including whoever missed the object.",
                        related_name="flags",
                        through="quality.FlagLabeler",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            database_operations=[],
        ),
        migrations.AddField(
            model_name="flaglabeler",
            name="deviating",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.AddIndex(
            model_name="flaglabeler",
            index=models.Index(
                condition=models.Q(("deviating", True)),
                fields=["user", "flag"],
                name="flag_labeler_deviating",
            ),
        ),
        migrations.AlterField(
            model_name="labeleragreement",
            name="flag_counts",
            field=models.JSONField(
                default=dict,
                help_text="Live flags by kind in which this labeler is the one who deviates.",
            ),
        ),
        migrations.AddField(
            model_name="labeleragreement",
            name="tied_flag_counts",
            field=models.JSONField(
                default=dict,
                help_text="Live flags by kind that involve this labeler with no majority either way.",
            ),
        ),
    ]
