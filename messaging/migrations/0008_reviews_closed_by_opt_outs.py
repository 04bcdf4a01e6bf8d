"""Reviews may be closed by the number's own opt-out. And a review waiting that an earlier
reading of 0007 held from calls alone holds texts too: it came by text."""

from django.db import migrations, models


def texts_too(apps, schema_editor):
    reviews = apps.get_model("messaging", "PossibleOptOut")
    reviews.objects.filter(decision="pending", channels="calls").update(channels="sms calls")


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0007_possible_opt_out_channels"),
    ]

    operations = [
        migrations.AlterField(
            model_name="possibleoptout",
            name="decision",
            field=models.CharField(
                choices=[
                    ("pending", "To review"),
                    ("confirmed", "Confirmed: opted out"),
                    ("dismissed", "Dismissed"),
                    ("opted_out", "Closed: the number opted out itself since"),
                ],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.RunPython(texts_too, migrations.RunPython.noop),
    ]
