"""A reply to a broadcast comes by the same signed webhook, and is read by the same rules:
a request to stop in the contact's own words keeps the next broadcast from them."""

from urllib.parse import urlencode

from broadcasts import sending, services
from contacts.models import Channel, Contact, OptInStatus
from messaging.backends import LocmemBackend
from tests.broadcasts.engine import broadcast, sent_to
from tests.factories import ContactFactory
from tests.messaging.conftest import FORM, sign


def reply(client, phone: str, body: str) -> str:
    data = {"MessageSid": "SMreply1", "From": phone, "To": "+14155559999", "Body": body}
    signature = sign("http://testserver/webhooks/twilio/sms/", data)
    response = client.post("/webhooks/twilio/sms/", urlencode(data), content_type=FORM,
                           headers={"X-Twilio-Signature": signature})  # fmt: skip
    return response.content.decode()


def test_a_reply_asking_to_stop_keeps_the_next_broadcast_from_them(client, manager):
    stopper, other = ContactFactory(), ContactFactory()
    first = broadcast()
    services.launch(broadcast=first, by_user=manager)
    sending.run(first.pk)
    assert sent_to() == sorted([stopper.phone, other.phone])
    LocmemBackend.outbox.clear()

    answer = reply(client, stopper.phone, "Stop texting me please, I'm not interested")
    assert "You have been unsubscribed" in answer
    assert Contact.objects.get(pk=stopper.pk).opt_in_status(Channel.SMS) == OptInStatus.HARD

    second = broadcast()
    services.launch(broadcast=second, by_user=manager)
    sending.run(second.pk)
    assert sent_to() == [other.phone]
