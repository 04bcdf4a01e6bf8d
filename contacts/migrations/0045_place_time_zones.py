"""A contact's own time zone is a place's, which keeps its daylight saving: the form and the
import once took IANA's zones of one offset all year ("EST": UTC-5 in July too, so Florida's
20:00 end of messages came at 21:00 on the phone). Those already kept become the place they
stand for, or, where none is sure ("MST": Denver or Arizona?), are emptied, so that the
number's own zones decide, as for any contact without a time zone of its own."""

from django.db import migrations

# IANA's zones of an offset or a rule that a place's zone stands for without doubt.
PLACE_OF = {
    "EST": "America/New_York",
    "EST5EDT": "America/New_York",
    "CST6CDT": "America/Chicago",
    "MST7MDT": "America/Denver",
    "PST8PDT": "America/Los_Angeles",
    "HST": "Pacific/Honolulu",
}


def to_places(apps, schema_editor):
    Contact = apps.get_model("contacts", "Contact")
    zones = Contact.objects.exclude(time_zone="").values_list("time_zone", flat=True).distinct()
    for zone in list(zones):
        if "/" in zone and not zone.startswith("Etc/"):
            continue  # a place's
        Contact.objects.filter(time_zone=zone).update(time_zone=PLACE_OF.get(zone, ""))


class Migration(migrations.Migration):
    dependencies = [("contacts", "0044_status_changes")]

    operations = [migrations.RunPython(to_places, migrations.RunPython.noop)]
