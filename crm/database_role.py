"""A warning when the application connects to PostgreSQL as the tables' owner or a superuser.

The guard triggers (contacts migration 0013) refuse to weaken a hard opt-out, but a role
that owns the tables, or a superuser, may disable triggers; the application's own
connection should be able to do neither. README: "Database roles".
"""

import logging

from django.conf import settings
from django.db.backends.signals import connection_created

logger = logging.getLogger(__name__)
_warned = False

# Whether the current role could switch the guard off: a superuser, or a member of the
# role that owns the opt-outs table (ALTER TABLE … DISABLE TRIGGER, DROP TRIGGER).
PRIVILEGES = """
SELECT r.rolsuper,
       t.oid IS NOT NULL AND pg_has_role(current_user, t.relowner, 'MEMBER')
FROM pg_roles r LEFT JOIN pg_class t ON t.oid = to_regclass('contacts_optout')
WHERE r.rolname = current_user
"""


def privileged_because(cursor) -> str | None:
    """Why the role of `cursor`'s connection could disable the guard, or None."""
    cursor.execute(PRIVILEGES)
    superuser, owner = cursor.fetchone()
    if superuser:
        return "is a superuser"
    if owner:
        return "owns the contacts tables"
    return None


def warn_if_privileged(sender, connection, **kwargs) -> None:
    """On a process's first PostgreSQL connection, in production only."""
    global _warned
    if _warned or settings.DEBUG or connection.vendor != "postgresql":
        return
    _warned = True
    with connection.cursor() as cursor:
        reason = privileged_because(cursor)
    if reason:
        logger.warning(
            "The application connects to PostgreSQL as a role that %s, so its own connection "
            "could disable the triggers that protect hard opt-outs. Run migrations as the "
            "owner and the application as a role without ownership (README: Database roles).",
            reason,
        )


def connect() -> None:
    connection_created.connect(warn_if_privileged, dispatch_uid="crm.database_role")
