"""The ledger's first hashed row, blanked behind the guard (and changed), is named: the
chain began when migration 0029 ran. (A cold review found the first form took the start
from the lowest id that still had a hash, which the blanked row moved past itself.)"""

import pytest
from django.core.management import CommandError

from contacts import services
from contacts.models import Channel, ConsentEvent
from tests.contacts.test_ledger_chain import history, verify_ledger, without_the_guard  # noqa: F401
from tests.factories import ContactFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def first_then_history(request):
    zoe = ContactFactory(phone="+14155550199")
    services.unsubscribe(contact=zoe, channel=Channel.SMS, by_user=UserFactory(role="Admin"))
    return request.getfixturevalue("history")


def test_the_first_hashed_row_blanked_and_changed_is_named(first_then_history):
    first = ConsentEvent.objects.order_by("id").first()
    assert first.phone == "+14155550199" and first.chain
    assert not ConsentEvent.objects.filter(phone=first.phone, channel=first.channel,
                                           id__gt=first.id).exists()  # fmt: skip
    without_the_guard(
        "UPDATE contacts_consentevent SET chain = '', note = 'never asked' WHERE id = %s",
        [first.pk],
    )
    with pytest.raises(CommandError):
        verify_ledger()
