"""How many recipients each launch took, kept on the broadcast for the Broadcasts page; for
those launched before, counted once here."""

from django.db import migrations, models

COUNT_THOSE_LAUNCHED = """
UPDATE broadcasts_broadcast SET recipients_taken = (
    SELECT COUNT(*) FROM broadcasts_recipient r WHERE r.broadcast_id = broadcasts_broadcast.id)
WHERE launched_at IS NOT NULL
"""


class Migration(migrations.Migration):
    dependencies = [("broadcasts", "0018_promotes_nothing")]

    operations = [
        migrations.AddField(
            model_name="broadcast",
            name="recipients_taken",
            field=models.IntegerField(blank=True, editable=False, null=True),
        ),
        migrations.RunSQL(COUNT_THOSE_LAUNCHED, migrations.RunSQL.noop),
    ]
