"""The Contacts table's rows are drawn in Python (contacts.rows, contacts.display.opt_in_cell)
for speed; they draw what their templates draw: the `row` partial of contact_table.html and
_opt_in.html."""

import pytest
from django.template.loader import render_to_string
from django.utils.html import conditional_escape
from pytest_django.asserts import assertHTMLEqual

from contacts import display, rows, services
from contacts.models import Channel, Contact, Source, Tag, load_consent
from contacts.tables import ContactTable
from tests.factories import ContactFactory, UserFactory

HTML = """<script>alert("x")</script> & 'quoted' {braces}"""
NEXT = '/contacts/?q=<b>"x"</b>&sort=-name'
CSRF_TOKEN = "token&<'\">"


@pytest.fixture
def contacts(db) -> list[Contact]:
    """Subscribed, soft, hard in each way, inherited, by a user, with long words, with HTML,
    not to be contacted."""
    admin = UserFactory(username=f"admin {HTML}", role="Admin")
    subscribed = ContactFactory(name="Sue Subscribed")
    subscribed.tags.add(Tag.objects.create(name="VIP"), Tag.objects.create(name=HTML))
    soft = ContactFactory(name="Sam Soft")
    services.unsubscribe(contact=soft, channel=Channel.SMS, by_user=admin)
    services.unsubscribe(contact=soft, channel=Channel.CALLS, by_user=None)
    said_stop = ContactFactory(name=HTML, email='a&b"<i>@example.com')
    services.record_hard_opt_out(
        phone=said_stop.phone, channel=Channel.SMS, source=Source.KEYWORD, words=f"STOP {HTML}"
    )
    by_digit = ContactFactory(name="Di Digit", status=Contact.Status.ARCHIVED)
    services.record_hard_opt_out(
        phone=by_digit.phone, channel=Channel.CALLS, source=Source.DIGIT, words="pressed 9"
    )
    services.unsubscribe(contact=by_digit, channel=Channel.SMS, by_user=admin)
    by_carrier = ContactFactory(name="Cy Carrier")
    services.record_hard_opt_out(phone=by_carrier.phone, channel=Channel.SMS, source=Source.CARRIER)
    long_words = ContactFactory(name="Lo" + "n" * 150 + "g")
    services.record_hard_opt_out(
        phone=long_words.phone,
        channel=Channel.SMS,
        source=Source.KEYWORD,
        words="stop " * 39 + "now",
    )
    services.record_hard_opt_out(
        phone="+14155550199", channel=Channel.CALLS, source=Source.IMPORT, words=HTML
    )
    held_back = ContactFactory(name="Do Notcontact", status=Contact.Status.DO_NOT_CONTACT)
    inherited = ContactFactory(name="In Herited", phone="+14155550199")  # had opted out before
    drawn = [subscribed, soft, said_stop, by_digit, by_carrier, long_words, held_back, inherited]
    contacts = list(Contact.objects.filter(pk__in=[c.pk for c in drawn]).order_by("pk"))
    load_consent(contacts, list(Tag.objects.all()))  # as the Contacts page reads them
    assert contacts[-1].opt_out_for(Channel.CALLS).inherited
    return contacts


@pytest.mark.parametrize("can_change", [True, False])
def test_the_opt_in_cell_in_python_draws_what_the_template_draws(contacts, can_change):
    for contact in contacts:
        context = {"contact": contact, "can_change": can_change, "next": NEXT}
        template = render_to_string("contacts/_opt_in.html", context | {"csrf_token": CSRF_TOKEN})
        python = display.opt_in_cell(
            contact, can_change=can_change, next_url=NEXT, csrf_token=CSRF_TOKEN
        )
        assertHTMLEqual(python, template)


@pytest.mark.parametrize("can_change", [True, False])
@pytest.mark.parametrize(
    "hidden", [(), ("selection",), ("phone", "tags", "opt_in"), tuple(ContactTable.hideable)]
)
def test_a_row_in_python_draws_what_the_row_partial_draws(contacts, can_change, hidden):
    columns = [name for name in ContactTable.base_columns if name not in hidden]
    page = rows.PageContext(
        can_change=can_change,
        next_url=conditional_escape(NEXT),
        csrf_token=conditional_escape(CSRF_TOKEN),
    )
    for contact in contacts:
        context = {
            "contact": contact,
            "visible": set(columns),
            "can_change": can_change,
            "next": NEXT,
            "csrf_token": CSRF_TOKEN,
        }
        template = render_to_string("contacts/contact_table.html#row", context)
        assertHTMLEqual(rows.draw([contact], columns, page), template)
