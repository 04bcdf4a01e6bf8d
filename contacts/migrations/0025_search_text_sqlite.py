"""On SQLite, an index of the contacts' names, emails and numbers for the table's search.

PostgreSQL finds a search's matches by its trigram indexes (0004, 0011, 0016). SQLite has
none, and tested every contact's name, email and number instead: about half a second for a
search at 100,000 contacts (bench/NOTES.md). FTS5's trigram tokenizer serves `LIKE
'%words%'` from an index: `search_text` indexes the three columns of `contacts_contact` (an
external-content table: it keeps the index, not a copy of the text), and the triggers keep it
up to date whatever writes a contact.
"""

from django.db import migrations

CREATE = [
    """
    CREATE VIRTUAL TABLE search_text USING fts5(
        name, email, phone, content = 'contacts_contact', content_rowid = 'id',
        tokenize = 'trigram'
    )
    """,
    "INSERT INTO search_text (search_text) VALUES ('rebuild')",
    """
    CREATE TRIGGER search_text_inserted AFTER INSERT ON contacts_contact BEGIN
        INSERT INTO search_text (rowid, name, email, phone)
        VALUES (NEW.id, NEW.name, NEW.email, NEW.phone);
    END
    """,
    """
    CREATE TRIGGER search_text_deleted AFTER DELETE ON contacts_contact BEGIN
        INSERT INTO search_text (search_text, rowid, name, email, phone)
        VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.phone);
    END
    """,
    """
    CREATE TRIGGER search_text_changed AFTER UPDATE OF name, email, phone ON contacts_contact
    BEGIN
        INSERT INTO search_text (search_text, rowid, name, email, phone)
        VALUES ('delete', OLD.id, OLD.name, OLD.email, OLD.phone);
        INSERT INTO search_text (rowid, name, email, phone)
        VALUES (NEW.id, NEW.name, NEW.email, NEW.phone);
    END
    """,
]
DROP = [
    "DROP TRIGGER search_text_changed",
    "DROP TRIGGER search_text_deleted",
    "DROP TRIGGER search_text_inserted",
    "DROP TABLE search_text",
]


def running(statements: list[str]):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "sqlite":
            return
        for sql in statements:
            schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [("contacts", "0024_export_pieces")]

    operations = [migrations.RunPython(running(CREATE), running(DROP))]
