from django.urls import reverse

from contacts import services
from contacts.models import Channel, Source
from tests.factories import ContactFactory


def test_staff_see_the_opt_in_icons(client, staff_user):
    contact = ContactFactory(name="Pat <script>alert(1)</script>")
    services.record_hard_opt_out(phone=contact.phone, channel=Channel.CALLS, source=Source.DIGIT)
    client.force_login(staff_user)
    page = client.get(reverse("contacts:list")).content.decode()
    assert "📩" in page and "📞" in page
    assert 'aria-label="Calls &amp; Voicemails: opted out (hard)"' in page
    assert "Opted out of Calls &amp; Voicemails: pressed the unsubscribe digit on" in page
    assert "Pat &lt;script&gt;" in page
