"""A contact who texts "Do not contact me by phone or text" gets no call from the next voice
broadcast (revocation by any reasonable means, 47 CFR 64.1200(a)(10)). A cold review found
the call went: "by phone" did not name calls (messaging.reply_patterns.CALLS), so the
request stopped texts alone."""

import pytest

from broadcasts import sending
from broadcasts import services as broadcast_services
from contacts.models import Channel
from tests.broadcasts.engine import broadcast, sent_to
from tests.factories import ContactFactory
from tests.messaging.conftest import post_signed, sms  # noqa: F401

PHONE = "+14155550123"


@pytest.mark.parametrize(
    "words", ["Do not contact me by phone or text", "Stop sending me voice messages"]
)
def test_no_call_after_the_number_asked_for_no_contact_by_phone(sms, manager, words):  # noqa: F811
    ContactFactory(phone=PHONE)
    sms(words, phone=PHONE)
    voice = broadcast(Channel.CALLS)
    broadcast_services.launch(broadcast=voice, by_user=manager)
    sending.run(voice.pk)
    assert sent_to() == [], f"called after {words!r}"
