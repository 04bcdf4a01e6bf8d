"""A partial index of the contacts that are not active (archived, do not contact).

A broadcast's preview of everyone counts those of them that have opted out of the channel:
from this index, a few thousand rows, rather than from a pass over every contact.
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("contacts", "0007_shared_phones")]

    operations = [
        migrations.AddIndex(
            model_name="contact",
            index=models.Index(
                condition=~models.Q(status="active"), fields=["id"], name="contact_inactive"
            ),
        ),
    ]
