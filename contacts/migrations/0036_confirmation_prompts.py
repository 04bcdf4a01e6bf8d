"""The texts that asked numbers to confirm consent (double opt-in): only a YES to one
confirms, and only what it asked about."""

import django.db.models.functions.datetime
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0035_import_consent_columns"),
    ]

    operations = [
        migrations.CreateModel(
            name="ConfirmationPrompt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("phone", models.CharField(max_length=16)),
                (
                    "channels",
                    models.CharField(
                        help_text="The channels asked about: sms calls.", max_length=20
                    ),
                ),
                (
                    "sent_at",
                    models.DateTimeField(db_default=django.db.models.functions.datetime.Now()),
                ),
                (
                    "sid",
                    models.CharField(
                        blank=True, help_text="The provider's id of the text.", max_length=64
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["phone", "sent_at"], name="prompt_of_number")],
            },
        ),
    ]
