"""The sweep checks stored results for another engine version through an index."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0007_image_figures"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="imageagreement",
            index=models.Index(fields=["engine_version"], name="agreement_by_engine_version"),
        ),
        migrations.AddIndex(
            model_name="imageagreement",
            index=models.Index(fields=["figures_version"], name="agreement_by_figures_version"),
        ),
    ]
