"""Only the tables' owner records which migrations ran (django_migrations), as it runs them.

The README's roles give the application's role SELECT, INSERT, UPDATE and DELETE on whatever
the owner creates, and the owner's first `migrate` creates django_migrations: the application
could then mark a migration as run, and the owner's next `migrate` would skip it, with it a
change of the guard (an operator's deployment, followed to the letter). On PostgreSQL, every
role but the owner keeps reading it (Django asks which migrations ran as it starts), and no
more; run by another role, it fails. SQLite has no roles.
"""

from django.db import migrations

REVOKE_WRITES = """
DO $$
DECLARE
    writer regrole;
BEGIN
    -- Another role's REVOKE only warns, and the migration would be recorded as run: by the
    -- very right it was there to take away.
    IF NOT pg_has_role(current_user, (SELECT relowner FROM pg_class
                                      WHERE oid = 'django_migrations'::regclass), 'USAGE') THEN
        RAISE EXCEPTION 'Run migrations as the tables'' owner (README: Database roles): % does '
                        'not own django_migrations.', current_user;
    END IF;
    FOR writer IN
        SELECT DISTINCT a.grantee::regrole
        FROM pg_class c, aclexplode(c.relacl) a
        WHERE c.oid = 'django_migrations'::regclass AND a.grantee NOT IN (0, c.relowner)
            AND a.privilege_type IN ('INSERT', 'UPDATE', 'DELETE', 'TRUNCATE')
    LOOP
        EXECUTE format('REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM %s',
                       writer);
    END LOOP;
    REVOKE INSERT, UPDATE, DELETE, TRUNCATE ON django_migrations FROM PUBLIC;
END
$$;
"""


def revoke_writes(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(REVOKE_WRITES, params=None)


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_everyone_records_requests_to_stop")]

    operations = [migrations.RunPython(revoke_writes, migrations.RunPython.noop)]
