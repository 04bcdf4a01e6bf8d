"""An informational broadcast's manager's word that its words, which read as marketing,
promote nothing (Broadcast.reads_as_marketing), kept so that its launch can ask for it.

Added by ALTER TABLE ADD COLUMN on both databases, with a database default for the rows that
are there: Django would rebuild the table on SQLite for a NOT NULL column, which breaks the
triggers that name it (broadcasts 0014's count of the opt-outs after a broadcast).
"""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("broadcasts", "0017_tests_are_kept")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    "ALTER TABLE broadcasts_broadcast"
                    " ADD COLUMN promotes_nothing boolean DEFAULT false NOT NULL",
                    reverse_sql="ALTER TABLE broadcasts_broadcast DROP COLUMN promotes_nothing",
                )
            ],
            state_operations=[
                migrations.AddField(
                    model_name="broadcast",
                    name="promotes_nothing",
                    field=models.BooleanField(
                        db_default=False,
                        default=False,
                        help_text="Its manager said that this informational broadcast, whose "
                        "words read as marketing, promotes nothing.",
                    ),
                )
            ],
        )
    ]
