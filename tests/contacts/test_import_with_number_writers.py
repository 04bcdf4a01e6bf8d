"""An import batch that records consent for a number and gives it a new contact, while a
"wrong number" reply or a START changes the same number: each waits for the other, neither
in a circle. (The batch's consent records change the number's contacts; a STOP or a START
takes the number's lock before them, and so now does the batch.)"""

import pytest

from tests.contacts.test_guard_concurrency import database_url, migrated, run  # noqa: F401

pytestmark = pytest.mark.postgres

SCRIPT = """
import io
import threading
from datetime import datetime, UTC

import django

django.setup()
from django.core.files import File
from django.db import connection, transaction
from contacts import imports, services
from contacts.models import Channel, ContactImport, ReassignedNumber
from messaging import inbound
from messaging.models import InboundEvent
from tests.factories import ContactFactory
from tests.locks import wait_for_lock_waiters

P = "+14155550101"
bob = ContactFactory(name="Bob", phone=P)
if WITH_SMS_CONSENT:
    services.record_consent(phone=P, channel=Channel.SMS, method="paper",
                            given_at=datetime(2025, 1, 1, tzinfo=UTC))
# A new contact (Ana) at Bob's number, with consent to calls: flips Bob's calls_consent_on_record.
data = (b"Name,Phone,Consent to,Consent method,Consent date\\n"
        b"Ana,(415) 555-0101,calls,paper,2025-03-01\\n")
contact_import = imports.store(File(io.BytesIO(data), name="x.csv"), by_user=None)
imports.check(contact_import)
assert imports.start_applying(contact_import)

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


def other():
    if OTHER == "reassigned":
        services.record_reassigned(phone=P, how=ReassignedNumber.How.REPLY, words="wrong number")
    else:
        payload = {"MessageSid": "SMstart", "From": P, "Body": "START"}
        InboundEvent.store(key="sms:SMstart", kind="sms", payload=payload, phone=P)
        inbound.process("sms:SMstart")  # the webhook's processing of a START


importing = beside("import", lambda: imports.apply(ContactImport.objects.get(pk=contact_import.pk)))
inside.wait(60)
writer = beside("other", other)
print("the other waits:", wait_for_lock_waiters(1, unless=lambda: not writer.is_alive()))
go.set()
importing.join(60)
writer.join(60)
print("import:", outcome.get("import"))
print("other:", outcome.get("other"))
"""


@pytest.mark.parametrize(("other", "with_sms"), [("reassigned", True), ("start", False)])
def test_an_import_and_a_number_lock_holder_do_not_deadlock(request, other, with_sms):
    script = f"WITH_SMS_CONSENT = {with_sms}\nOTHER = {other!r}\n" + SCRIPT
    lines = run(script, request.getfixturevalue("migrated")).strip().splitlines()
    assert lines == ["the other waits: True", "import: ok", "other: ok"], lines
