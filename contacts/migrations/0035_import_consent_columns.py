"""An import's checked rows keep the consent they record (contacts.imports._consent), and
an import counts the consent records it added."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0034_reassigned_numbers"),
    ]

    operations = [
        migrations.AddField(
            model_name="contactimport",
            name="consents",
            field=models.PositiveIntegerField(default=0, help_text="Consent records added."),
        ),
        migrations.AddField(
            model_name="importrow",
            name="consent_awaiting",
            field=models.BooleanField(
                default=False, help_text="To be confirmed by the number's YES (double opt-in)."
            ),
        ),
        migrations.AddField(
            model_name="importrow",
            name="consent_channels",
            field=models.CharField(blank=True, default="", max_length=20),
        ),
        migrations.AddField(
            model_name="importrow",
            name="consent_disclosure_id",
            field=models.BigIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="importrow",
            name="consent_given_at",
            field=models.DateTimeField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="importrow",
            name="consent_method",
            field=models.CharField(blank=True, default="", max_length=10),
        ),
    ]
