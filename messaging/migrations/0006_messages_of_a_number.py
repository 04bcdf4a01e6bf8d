"""A number's webhook events and outbox messages, by index: its evidence file and the Outbox
filtered by number read them without a scan of every event."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_inbound_reading"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="inboundevent",
            index=models.Index(fields=["phone", "received_at"], name="inbound_of_number"),
        ),
        migrations.AddIndex(
            model_name="outboundmessage",
            index=models.Index(fields=["to", "sent_at"], name="outbound_to_number"),
        ),
    ]
