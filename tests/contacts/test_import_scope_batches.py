"""An import's hard opt-out under revoke-all, with the other row of the number in another
batch (IMPORT_BATCH_SIZE = 1), and for a number opted out of that channel already: it covers
the other channel too, as a STOP does (a cold review found the second case stopped nothing
more)."""

import io

import pytest
from django.core.files import File

from contacts import imports
from contacts.models import Channel, Contact, ContactImport, ImportProblem, OptInStatus

pytestmark = pytest.mark.django_db


def run(text):
    contact_import = imports.store(File(io.BytesIO(text.encode()), name="f.csv"), by_user=None)
    imports.check(contact_import)
    contact_import.refresh_from_db()
    assert contact_import.status == ContactImport.Status.READY
    preview = imports.preview(contact_import)
    assert imports.start_applying(contact_import)
    imports.apply(contact_import)
    contact_import.refresh_from_db()
    kept = ImportProblem.objects.filter(contact_import=contact_import, kept_hard=True)
    return preview, contact_import, sorted(kept.values_list("row", "column"))


@pytest.mark.parametrize("order", ["bob first", "ana first"])
def test_calls_hard_under_revoke_all_holds_the_other_row_s_sms(settings, order):
    settings.OPT_OUT_SCOPE = "all"
    settings.IMPORT_BATCH_SIZE = 1
    bob, ana = "Bob,415.555.0101,subscribed,", "Ana,(415) 555-0101,,hard"
    rows = [bob, ana] if order == "bob first" else [ana, bob]
    preview, done, kept = run("\n".join(["Name,Phone,SMS,Calls", *rows]) + "\n")
    bob_row = 2 if order == "bob first" else 3
    assert done.status == "done", done.error
    assert [(o.row, o.column) for o in preview.overrides] == [(bob_row, "sms")]
    assert kept == [(bob_row, "sms")]
    for name in ("Ana", "Bob"):
        contact = Contact.objects.get(name=name)
        assert contact.opt_in_status(Channel.SMS) == OptInStatus.HARD, name
        assert contact.opt_in_status(Channel.CALLS) == OptInStatus.HARD, name


def test_an_imported_stop_of_a_number_opted_out_already_covers_the_other_channel(settings):
    """README, Revocation scope: "A number already opted out of one channel that opts out
    again is opted out of the other too" (a STOP does so: record_revocation). An imported hard
    opt-out, which 8d9301c says "covers what a STOP would", does not: a contact hard opted
    out of SMS before revoke-all applied gets nothing from the file's "hard", and calls go on."""
    from contacts import services
    from contacts.models import PhoneOptOut, Source
    from tests.factories import ContactFactory

    settings.OPT_OUT_SCOPE, settings.OPT_OUT_SCOPE_ALL_FROM = "channel", ""
    ContactFactory(name="Ana", phone="+14155550101")
    services.record_revocation(phone="+14155550101", channel=Channel.SMS, source=Source.KEYWORD,
                               words="STOP")  # fmt: skip
    settings.OPT_OUT_SCOPE = "all"
    preview, done, kept = run("Name,Phone,SMS\nAna,(415) 555-0101,hard\n")
    assert done.status == "done", done.error
    stopped = PhoneOptOut.objects.filter(phone="+14155550101").values_list("channel", flat=True)
    assert set(stopped) == {Channel.SMS, Channel.CALLS}
