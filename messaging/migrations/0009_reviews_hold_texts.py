"""A review waiting that an earlier reading held from calls alone holds texts too: it came by
text. (0008 does so too, since the day it was written; a database that applied 0008 before
then did not.)"""

from django.db import migrations


def texts_too(apps, schema_editor):
    reviews = apps.get_model("messaging", "PossibleOptOut")
    reviews.objects.filter(decision="pending", channels="calls").update(channels="sms calls")


class Migration(migrations.Migration):
    dependencies = [("messaging", "0008_reviews_closed_by_opt_outs")]

    operations = [migrations.RunPython(texts_too, migrations.RunPython.noop)]
