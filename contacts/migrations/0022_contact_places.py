"""A contact's own time zone and US state, where its number does not say them rightly
(contacts.places), and the import's columns for them.

Each column has a database default, "", for the rows that are written in SQL (the import,
seed_demo). On the contacts the columns are added by ALTER TABLE ADD COLUMN on both databases:
Django would rebuild the table on SQLite for a NOT NULL column, which drops its triggers (the
hard opt-out guard's among them).
"""

from django.db import migrations, models

import contacts.places

STATE_CHOICES = [
    ("AL", "Alabama"), ("AK", "Alaska"), ("AS", "American Samoa"), ("AZ", "Arizona"),
    ("AR", "Arkansas"), ("CA", "California"), ("CO", "Colorado"), ("CT", "Connecticut"),
    ("DE", "Delaware"), ("DC", "District of Columbia"), ("FL", "Florida"), ("GA", "Georgia"),
    ("GU", "Guam"), ("HI", "Hawaii"), ("ID", "Idaho"), ("IL", "Illinois"), ("IN", "Indiana"),
    ("IA", "Iowa"), ("KS", "Kansas"), ("KY", "Kentucky"), ("LA", "Louisiana"), ("ME", "Maine"),
    ("MD", "Maryland"), ("MA", "Massachusetts"), ("MI", "Michigan"), ("MN", "Minnesota"),
    ("MS", "Mississippi"), ("MO", "Missouri"), ("MT", "Montana"), ("NE", "Nebraska"),
    ("NV", "Nevada"), ("NH", "New Hampshire"), ("NJ", "New Jersey"), ("NM", "New Mexico"),
    ("NY", "New York"), ("NC", "North Carolina"), ("ND", "North Dakota"),
    ("MP", "Northern Mariana Islands"), ("OH", "Ohio"), ("OK", "Oklahoma"), ("OR", "Oregon"),
    ("PA", "Pennsylvania"), ("PR", "Puerto Rico"), ("RI", "Rhode Island"),
    ("SC", "South Carolina"), ("SD", "South Dakota"), ("TN", "Tennessee"), ("TX", "Texas"),
    ("VI", "U.S. Virgin Islands"), ("UT", "Utah"), ("VT", "Vermont"), ("VA", "Virginia"),
    ("WA", "Washington"), ("WV", "West Virginia"), ("WI", "Wisconsin"), ("WY", "Wyoming"),
]  # fmt: skip


def add_column(name: str, length: int) -> migrations.RunSQL:
    return migrations.RunSQL(
        f"ALTER TABLE contacts_contact ADD COLUMN {name} varchar({length}) DEFAULT '' NOT NULL",
        reverse_sql=f"ALTER TABLE contacts_contact DROP COLUMN {name}",
    )


class Migration(migrations.Migration):
    dependencies = [("contacts", "0021_new_numbers_skip_propagation")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[add_column("time_zone", 64), add_column("state", 2)],
            state_operations=[
                migrations.AddField(
                    model_name="contact",
                    name="time_zone",
                    field=models.CharField(
                        blank=True,
                        db_default="",
                        default="",
                        help_text="An IANA time zone, such as America/Chicago; empty: the "
                        "phone number's.",
                        max_length=64,
                        validators=[contacts.places.validate_time_zone],
                    ),
                ),
                migrations.AddField(
                    model_name="contact",
                    name="state",
                    field=models.CharField(
                        blank=True,
                        choices=STATE_CHOICES,
                        db_default="",
                        default="",
                        help_text="Empty: the phone number's.",
                        max_length=2,
                        verbose_name="US state",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="importrow",
            name="time_zone",
            field=models.CharField(blank=True, default="", max_length=64),
        ),
        migrations.AddField(
            model_name="importrow",
            name="state",
            field=models.CharField(blank=True, default="", max_length=2),
        ),
    ]
