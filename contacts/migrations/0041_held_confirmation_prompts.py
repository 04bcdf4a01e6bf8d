"""Double opt-in prompts are kept when asked for, and held for the number's quiet hours:
`sent_at` is empty until one is sent (it was the database's clock at insert)."""

from django.db import migrations, models


def forget_prompts_not_sent(apps, schema_editor):
    """Going back: the prompts never sent go, or the column's old default would make them
    sent now, and a YES to them would confirm what no text asked about."""
    apps.get_model("contacts", "ConfirmationPrompt").objects.filter(sent_at=None).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0040_consent_indexes_with_status"),
    ]

    operations = [
        migrations.AddField(
            model_name="confirmationprompt",
            name="held_for",
            field=models.CharField(
                blank=True,
                help_text="Until when, in words: its quiet hours end, at …",
                max_length=200,
            ),
        ),
        migrations.AddField(
            model_name="confirmationprompt",
            name="maybe_sent",
            field=models.BooleanField(
                default=False,
                help_text="Not known sent: the provider may have it (not_sent says why).",
            ),
        ),
        migrations.AddField(
            model_name="confirmationprompt",
            name="not_sent",
            field=models.CharField(blank=True, help_text="Not sent: why.", max_length=200),
        ),
        migrations.AddField(
            model_name="confirmationprompt",
            name="send_at",
            field=models.DateTimeField(help_text="Held until then: quiet hours.", null=True),
        ),
        migrations.AlterField(
            model_name="confirmationprompt",
            name="sent_at",
            field=models.DateTimeField(null=True),
        ),
        migrations.RunPython(migrations.RunPython.noop, forget_prompts_not_sent),
        migrations.AddIndex(
            model_name="confirmationprompt",
            index=models.Index(
                condition=models.Q(("not_sent", ""), ("sent_at", None)),
                fields=["send_at"],
                name="prompt_held",
            ),
        ),
        migrations.AddConstraint(
            model_name="confirmationprompt",
            constraint=models.UniqueConstraint(
                condition=models.Q(("not_sent", ""), ("sent_at", None)),
                fields=("phone",),
                name="one_held_prompt_a_number",
            ),
        ),
    ]
