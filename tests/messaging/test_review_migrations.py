"""Reviews at the upgrade: messaging migrations 0007 to 0009 make each one waiting hold the
texts it came by, and calls too where its words name them; 0010 keeps each one decided's
decision as its first step."""

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


STEPS = """
import django

django.setup()
from django.core.management import call_command
from django.db import connection

call_command("migrate", "messaging", "0009", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("INSERT INTO auth_user (username, password, is_superuser, first_name,"
                   " last_name, email, is_staff, is_active, date_joined)"
                   " VALUES ('dana', '', false, '', '', '', false, true, now()) RETURNING id")
    [dana] = cursor.fetchone()
    cursor.execute(
        "INSERT INTO messaging_possibleoptout (phone, words, matched, received_at, decision,"
        " decided_by_id, decided_at, channels) VALUES"
        " ('+14155550101', 'stop by', '', now(), 'dismissed', %s, '2026-12-01 10:00Z', 'sms'),"
        " ('+14155550102', 'no more', '', now(), 'opted_out', NULL, '2026-12-02 10:00Z', 'sms'),"
        " ('+14155550103', 'not now', '', now(), 'pending', NULL, NULL, 'sms')",
        [dana],
    )
call_command("migrate", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute(
        "SELECT r.phone, s.step, u.username, s.at = r.decided_at FROM messaging_reviewstep s"
        " JOIN messaging_possibleoptout r ON r.id = s.review_id"
        " LEFT JOIN auth_user u ON u.id = s.by_id ORDER BY r.phone"
    )
    print(cursor.fetchall())
"""


def test_reviews_decided_before_the_upgrade_keep_their_decision_as_a_step(request):
    output = run(STEPS, request.getfixturevalue("migrated"))
    assert output.strip() == (
        "[('+14155550101', 'dismissed', 'dana', True), ('+14155550102', 'opted_out', None, True)]"
    )
