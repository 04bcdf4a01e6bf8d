"""A batch that updates more than 64 contacts' consent and adds a contact of a new number,
while a STOP or a "wrong number" of that new number comes: each waits for the other, neither
in a circle (the batch takes the new numbers' locks before the opt-outs' table, as the
contacts' trigger would take them)."""

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
from contacts.models import Channel, ContactImport, PhoneOptOut, Source
from tests.factories import ContactFactory
from tests.locks import wait_for_lock_waiters

existing = [f"+1415555{1000 + i:04d}" for i in range(70)]
for i, phone in enumerate(existing):
    ContactFactory(name=f"Old {i}", phone=phone)
NEW = "+14155559999"
lines = [b"Name,Phone,Consent to,Consent method,Consent date"]
for i, phone in enumerate(existing):
    lines.append(f"Old {i},{phone},sms,paper,2025-03-01".encode())
if OTHER == "reassigned":  # the original test's household: Bob has NEW, with SMS consent
    from datetime import datetime, UTC
    ContactFactory(name="Bob", phone=NEW)
    services.record_consent(phone=NEW, channel=Channel.SMS, method="paper",
                            given_at=datetime(2025, 1, 1, tzinfo=UTC))
    lines.append(f"Ana,{NEW},calls,paper,2025-03-01".encode())
else:
    lines.append(f"Ana,{NEW},,,".encode())
contact_import = imports.store(File(io.BytesIO(b"\\n".join(lines) + b"\\n"), name="x.csv"),
                               by_user=None)
imports.check(contact_import)
assert imports.start_applying(contact_import), contact_import.problems.all()[:3]

inside, go = threading.Event(), threading.Event()
create = imports._create

def paused_create(*args, **kwargs):
    inside.set()
    go.wait(60)
    return create(*args, **kwargs)

imports._create = paused_create
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

def stop():
    if OTHER == "reassigned":
        from contacts.models import ReassignedNumber
        services.record_reassigned(phone=NEW, how=ReassignedNumber.How.REPLY, words="wrong number")
    else:
        services.record_revocation(phone=NEW, channel=Channel.SMS, source=Source.KEYWORD,
                                   words="STOP")

importing = beside("import", lambda: imports.apply(ContactImport.objects.get(pk=contact_import.pk)))
inside.wait(60)
writer = beside("stop", stop)
print("the stop waits:", wait_for_lock_waiters(1, unless=lambda: not writer.is_alive()))
go.set()
importing.join(60)
writer.join(60)
print("import:", outcome.get("import"))
print("stop:", outcome.get("stop"))
"""


@pytest.mark.parametrize("other", ["stop", "reassigned"])
def test_a_mixed_batch_and_a_stop_of_its_new_number_do_not_deadlock(request, other):
    script = f"OTHER = {other!r}\n" + SCRIPT
    lines = run(script, request.getfixturevalue("migrated")).strip().splitlines()
    assert lines == ["the stop waits: True", "import: ok", "stop: ok"], lines
