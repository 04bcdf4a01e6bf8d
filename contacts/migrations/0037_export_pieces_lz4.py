"""Export pieces compressed with lz4 on PostgreSQL: keeping a 6 MB piece took 150 ms with
the default compression (pglz) and 35 ms with lz4 (bench/NOTES.md). A server built without
lz4 keeps the default."""

from django.db import migrations

COMPRESSION = """
DO $$
BEGIN
    ALTER TABLE contacts_exportpiece ALTER COLUMN data SET COMPRESSION {method};
EXCEPTION WHEN feature_not_supported THEN
    NULL;
END
$$;
"""


def compress(method):
    def alter(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(COMPRESSION.format(method=method))

    return alter


class Migration(migrations.Migration):
    dependencies = [("contacts", "0036_confirmation_prompts")]

    operations = [migrations.RunPython(compress("lz4"), compress("default"))]
