"""Going back before contacts migration 0041 forgets the prompts never sent: the column's
old default would make them sent then, and a YES to them confirm what no text asked about."""

import pytest

from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401

pytestmark = pytest.mark.postgres

BACK_AND_FORTH = """
import django

django.setup()
from django.core.management import call_command
from django.db import connection

with connection.cursor() as cursor:
    cursor.execute(
        "INSERT INTO contacts_confirmationprompt (phone, channels, sent_at, sid, send_at,"
        " held_for, not_sent, maybe_sent) VALUES"
        " ('+14155550101', 'sms', now(), 'SM1', NULL, '', '', FALSE),"
        " ('+14155550102', 'sms', NULL, '', now(), 'until its quiet hours end', '', FALSE),"
        " ('+14155550103', 'sms', NULL, '', NULL, '', 'the number opted out of texts.', FALSE)"
    )
call_command("migrate", "contacts", "0040", verbosity=0)
with connection.cursor() as cursor:
    cursor.execute("SELECT phone, sid FROM contacts_confirmationprompt ORDER BY phone")
    print(cursor.fetchall())
call_command("migrate", verbosity=0)
"""


def test_going_back_before_0041_forgets_the_prompts_never_sent(request):
    output = run(BACK_AND_FORTH, request.getfixturevalue("migrated"))
    assert output.strip() == "[('+14155550101', 'SM1')]"
