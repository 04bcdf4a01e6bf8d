"""Reviews waiting at the upgrade: messaging migrations 0007 to 0009 make each hold the texts
it came by, and calls too where its words name them."""

import pytest

from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401

pytestmark = pytest.mark.postgres

UPGRADE = """
import django

django.setup()
from django.core.management import call_command
from django.db import connection

call_command("migrate", "messaging", "0006", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO messaging_possibleoptout (phone, words, matched, received_at, decision)"
        " VALUES ('+14155550101', 'Please stop calling me so much', '', now(), 'pending'),"
        " ('+14155550102', 'Ok cancel', '', now(), 'pending'),"
        " ('+14155550103', 'stop calling me', '', now(), 'dismissed')"
    )
call_command("migrate", "messaging", "0008", verbosity=0)
with connection.cursor() as cursor:  # as an earlier 0007 left one
    cursor.execute(
        "UPDATE messaging_possibleoptout SET channels = 'calls', decision = 'pending'"
        " WHERE phone LIKE '%103'"
    )
call_command("migrate", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("SELECT phone, channels FROM messaging_possibleoptout ORDER BY phone")
    print(cursor.fetchall())
"""


def test_reviews_waiting_at_the_upgrade_hold_texts_and_calls_where_named(request):
    output = run(UPGRADE, request.getfixturevalue("migrated"))
    assert output.strip() == (
        "[('+14155550101', 'sms calls'), ('+14155550102', 'sms'), ('+14155550103', 'sms calls')]"
    )
