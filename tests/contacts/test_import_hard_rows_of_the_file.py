"""A file's own hard opt-out ("hard" in a row: the number's STOP made in another system) holds
for the number's every row. A cold review found another row of the number ("Bob, subscribed",
the number written another way) overridden unseen: neither the preview nor the result listed
it. Under the revoke-all scope, such an opt-out covers every channel, as a STOP does (the
review found it stopped its own channel alone)."""

import io

import pytest
from django.core.files import File

from contacts import imports
from contacts.models import Channel, Contact, ContactImport, ImportProblem, OptInStatus, PhoneOptOut

pytestmark = pytest.mark.django_db


def checked(text: str) -> ContactImport:
    contact_import = imports.store(File(io.BytesIO(text.encode()), name="family.csv"), by_user=None)
    imports.check(contact_import)
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.READY, contact_import.status
    return contact_import


def applied(contact_import: ContactImport) -> list[tuple[int, str]]:
    """The rows and columns the result lists as overridden by a hard opt-out."""
    assert imports.start_applying(contact_import)
    imports.apply(contact_import)
    kept = ImportProblem.objects.filter(contact_import=contact_import, kept_hard=True)
    return list(kept.order_by("row", "column").values_list("row", "column"))


FAMILY = "Name,Phone,SMS\nAna Alvarez,(415) 555-0101,hard\nBob Alvarez,415.555.0101,subscribed\n"
# The hard row after the one it overrides: the order of the rows changes nothing.
FAMILY_THE_OTHER_WAY = (
    "Name,Phone,SMS\nBob Alvarez,415.555.0101,subscribed\nAna Alvarez,(415) 555-0101,hard\n"
)


@pytest.mark.parametrize(("text", "row"), [(FAMILY, 3), (FAMILY_THE_OTHER_WAY, 2)])
def test_a_row_the_file_s_own_hard_opt_out_overrides_is_listed_before_and_after(text, row):
    contact_import = checked(text)
    preview = imports.preview(contact_import)
    assert preview.override_count == 1
    assert [(o.row, o.name, o.column) for o in preview.overrides] == [(row, "Bob Alvarez", "sms")]
    # Nor is Bob's number counted as one subscribed without consent: it will not be.
    assert "SMS" not in preview.subscribed_without_consent
    assert applied(contact_import) == [(row, "sms")]
    bob = Contact.objects.get(name="Bob Alvarez")
    assert bob.opt_in_status(Channel.SMS) == OptInStatus.HARD


def test_an_imported_stop_covers_every_channel_under_revoke_all(settings):
    settings.OPT_OUT_SCOPE = "all"
    contact_import = checked(
        "Name,Phone,SMS,Calls\nAna,(415) 555-0101,opted out (hard),subscribed\n"
    )
    assert [(o.row, o.column) for o in imports.preview(contact_import).overrides] == [(2, "calls")]
    assert applied(contact_import) == [(2, "calls")]
    stopped = PhoneOptOut.objects.filter(phone="+14155550101").values_list("channel", flat=True)
    assert set(stopped) == {Channel.SMS, Channel.CALLS}


def test_under_the_channel_scope_an_imported_stop_stops_its_own_channel(settings):
    settings.OPT_OUT_SCOPE, settings.OPT_OUT_SCOPE_ALL_FROM = "channel", ""
    contact_import = checked("Name,Phone,SMS,Calls\nAna,(415) 555-0101,hard,subscribed\n")
    assert imports.preview(contact_import).override_count == 0
    assert applied(contact_import) == []
    stopped = PhoneOptOut.objects.filter(phone="+14155550101").values_list("channel", flat=True)
    assert set(stopped) == {Channel.SMS}
