"""An import batch and a STOP, a START or a "wrong number" of one of its numbers at once, in
committed transactions on a PostgreSQL database of their own: each waits for the other,
neither in a circle (a deadlock aborts one). The batch holds its numbers first, as those do
(contacts.services.hold_numbers): the number, then the opt-outs' table and the contacts.

Each script pauses the batch at one step, sends the other writer in, and lets the batch go
on once the writer waits for it."""

import pytest

from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401

pytestmark = pytest.mark.postgres

SETUP = """
import io
import threading
from datetime import UTC, datetime

import django

django.setup()
from django.core.files import File
from django.db import connection
from contacts import imports, services
from contacts.models import Channel, ContactImport, ReassignedNumber, Source
from messaging import inbound
from messaging.models import InboundEvent
from tests.factories import ContactFactory
from tests.locks import wait_for_lock_waiters


def ready(*lines):
    data = "\\n".join(lines).encode() + b"\\n"
    contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
    imports.check(contact_import)
    assert imports.start_applying(contact_import), list(contact_import.problems.all()[:3])
    return contact_import


def paused(module, name):
    \"\"\"`module.name`, paused as it is called until `go`; `inside` once it is.\"\"\"
    inside, go = threading.Event(), threading.Event()
    step = getattr(module, name)

    def waiting(*args, **kwargs):
        inside.set()
        go.wait(60)
        return step(*args, **kwargs)

    setattr(module, name, waiting)
    return inside, go


def race(contact_import, inside, go, writer):
    \"\"\"The import, and once it is paused, `writer`; what became of each.\"\"\"
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

    importing = beside("import", lambda: imports.apply(contact_import))
    inside.wait(60)
    writing = beside("other", writer)
    print("the other waits:", wait_for_lock_waiters(1, unless=lambda: not writing.is_alive()))
    go.set()
    importing.join(60)
    writing.join(60)
    print("import:", outcome.get("import"))
    print("other:", outcome.get("other"))


def wrong_number(phone):
    services.record_reassigned(phone=phone, how=ReassignedNumber.How.REPLY, words="wrong number")


def start(phone):
    payload = {"MessageSid": "SMstart", "From": phone, "Body": "START"}
    InboundEvent.store(key="sms:SMstart", kind="sms", payload=payload, phone=phone)
    inbound.process("sms:SMstart")  # as the webhook processes it


def stop(phone):
    services.record_revocation(phone=phone, channel=Channel.SMS, source=Source.KEYWORD,
                               words="STOP")
"""

# A household number: a new contact (Ana) at Bob's number, with consent to calls, which
# changes Bob's consent on record; paused before the new contact is written.
HOUSEHOLD = """
P = "+14155550101"
ContactFactory(name="Bob", phone=P)
if OTHER == "wrong_number":
    services.record_consent(phone=P, channel=Channel.SMS, method="paper",
                            given_at=datetime(2025, 1, 1, tzinfo=UTC))
contact_import = ready("Name,Phone,Consent to,Consent method,Consent date",
                       "Ana,(415) 555-0101,calls,paper,2025-03-01")
race(contact_import, *paused(imports, "_create"), lambda: globals()[OTHER](P))
"""

# Consent for 70 contacts (more than take a lock each) and one new contact, whose number a
# STOP or a "wrong number" comes for; paused before the new contact is written.
MIXED = """
existing = [f"+1415555{1000 + n:04d}" for n in range(70)]
for n, phone in enumerate(existing):
    ContactFactory(name=f"Old {n}", phone=phone)
NEW = "+14155559999"
lines = ["Name,Phone,Consent to,Consent method,Consent date"]
lines += [f"Old {n},{phone},sms,paper,2025-03-01" for n, phone in enumerate(existing)]
if OTHER == "wrong_number":  # Bob has the number, with consent to texts
    ContactFactory(name="Bob", phone=NEW)
    services.record_consent(phone=NEW, channel=Channel.SMS, method="paper",
                            given_at=datetime(2025, 1, 1, tzinfo=UTC))
    lines.append(f"Ana,{NEW},calls,paper,2025-03-01")
else:
    lines.append(f"Ana,{NEW},,,")
race(ready(*lines), *paused(imports, "_create"), lambda: globals()[OTHER](NEW))
"""

# One contact's SMS softened (the opt-outs' table held), another's number opted out hard by
# the file, whose STOP comes meanwhile; paused before the hard opt-outs are written.
HARD_ROW = """
A, X = "+14155551000", "+14155551001"
ContactFactory(name="Ann", phone=A)
ContactFactory(name="Xavi", phone=X)
contact_import = ready("name,phone,sms", f"Ann,{A},soft", f"Xavi,{X},hard")
race(contact_import, *paused(services, "record_hard_opt_outs"), lambda: stop(X))
"""

NEITHER_FAILS = ["the other waits: True", "import: ok", "other: ok"]


def lines(script: str, request, **names) -> list[str]:
    given = "".join(f"{name} = {value!r}\n" for name, value in names.items())
    output = run(SETUP + given + script, request.getfixturevalue("migrated"))
    return output.strip().splitlines()


@pytest.mark.parametrize("other", ["wrong_number", "start"])
def test_a_household_number_in_a_batch_and_its_start_or_wrong_number(request, other):
    assert lines(HOUSEHOLD, request, OTHER=other) == NEITHER_FAILS


@pytest.mark.parametrize("other", ["wrong_number", "stop"])
def test_a_mixed_batch_and_a_stop_or_wrong_number_of_its_new_number(request, other):
    assert lines(MIXED, request, OTHER=other) == NEITHER_FAILS


def test_a_batch_s_hard_opt_out_and_a_stop_of_its_number(request):
    assert lines(HARD_ROW, request) == NEITHER_FAILS
