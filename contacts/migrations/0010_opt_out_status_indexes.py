"""Partial indexes of the opt-outs of each channel, and of each channel and kind.

The Contacts table filtered by one channel's status reads contacts in the sort's order and
looks each one up until its page is full: over a thousand lookups for a page of SMS hard
opt-outs. In an index of one channel and kind, of tens of thousands of rows rather than every
opt-out, a lookup reads two pages instead of three or four. At a million contacts that page's
query ran in 1.0 ms instead of 1.5, and a page of Calls soft opt-outs in 0.55 instead of 0.67.

A broadcast's preview looks up contacts' opt-outs of its channel, whatever their kind: with
the index of the channel, the inactive contacts that opted out were counted in 7 ms instead
of 30, and the duplicates among the shared numbers in 92 instead of 102.
"""

from django.db import migrations, models

CHANNELS = ("sms", "calls")


class Migration(migrations.Migration):
    dependencies = [("contacts", "0009_number_ledger_row")]

    operations = [
        migrations.AddIndex(
            model_name="optout",
            index=models.Index(
                condition=models.Q(channel=channel, kind=kind),
                fields=["contact"],
                name=f"opt_out_{channel}_{kind}",
            ),
        )
        for channel in CHANNELS
        for kind in ("soft", "hard")
    ] + [
        migrations.AddIndex(
            model_name="optout",
            index=models.Index(
                condition=models.Q(channel=channel), fields=["contact"], name=f"opt_out_{channel}"
            ),
        )
        for channel in CHANNELS
    ]
