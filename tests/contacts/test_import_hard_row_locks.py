"""A batch that softens one contact's SMS (the opt-outs' table, SHARE) and records a hard
opt-out of another's number, while a STOP of that number comes: the batch holds the number
first, as a STOP does, and each waits for the other, neither in a circle."""

import pytest

from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401

pytestmark = pytest.mark.postgres

SCRIPT = """
import io
import threading
import django

django.setup()
from django.core.files import File
from django.db import connection
from contacts import imports, services
from contacts.models import Channel, ContactImport, Source
from tests.factories import ContactFactory
from tests.locks import wait_for_lock_waiters

A, X = "+14155551000", "+14155551001"
ContactFactory(name="Ann", phone=A)
ContactFactory(name="Xavi", phone=X)
data = f"name,phone,sms\\nAnn,{A},soft\\nXavi,{X},hard\\n".encode()
contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
imports.check(contact_import)
assert imports.start_applying(contact_import), contact_import.problems.all()[:3]

inside, go = threading.Event(), threading.Event()
original = services.record_hard_opt_outs

def paused(*args, **kwargs):
    inside.set()
    go.wait(60)
    return original(*args, **kwargs)

services.record_hard_opt_outs = paused
outcome = {}

def beside(name, action):
    def on_its_own():
        try:
            action()
            outcome[name] = "ok"
        except Exception as error:
            outcome[name] = type(error).__name__ + ": " + str(error).splitlines()[0]
        finally:
            connection.close()
    thread = threading.Thread(target=on_its_own)
    thread.start()
    return thread

importing = beside("import", lambda: imports.apply(ContactImport.objects.get(pk=contact_import.pk)))
inside.wait(60)
writer = beside("stop", lambda: services.record_revocation(
    phone=X, channel=Channel.SMS, source=Source.KEYWORD, words="STOP"))
print("the stop waits:", wait_for_lock_waiters(1, unless=lambda: not writer.is_alive()))
go.set()
importing.join(60)
writer.join(60)
print("import:", outcome.get("import"))
print("stop:", outcome.get("stop"))
"""


def test_a_batch_with_a_hard_row_and_a_stop_of_that_number_do_not_deadlock(request):
    lines = run(SCRIPT, request.getfixturevalue("migrated")).strip().splitlines()
    assert lines == ["the stop waits: True", "import: ok", "stop: ok"], lines
