"""The consent ledger is tamper-evident: each row carries a hash over its content and the hash
of the row before it of the same number and channel, written by the database whoever writes
the row; `manage.py verify_ledger` recomputes the chain and names the first row that does not
match."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, connection, transaction

from contacts import chain, services
from contacts.models import Channel, ConsentEvent, Contact, Source, Tag
from tests.factories import ContactFactory, UserFactory, reply_start

pytestmark = pytest.mark.django_db
PHONE = "+14155550123"
BEFORE_THE_CHAIN = "2020-01-02 03:04:05"  # before migration 0029 ran


@pytest.fixture
def history():
    """The ledger as every writer writes it: a user's soft changes, a bulk change, a STOP
    and its copies, a START, a number carried over, a contact moved onto an opted-out one."""
    admin = UserFactory(role="Admin")
    ana, bea = ContactFactory(phone=PHONE), ContactFactory(phone=PHONE)
    services.unsubscribe(contact=ana, channel=Channel.CALLS, by_user=admin, note="asked | twice")
    services.resubscribe(contact=ana, channel=Channel.CALLS, by_user=admin)
    tag = Tag.objects.create(name="VIP")
    ana.tags.add(tag)
    services.unsubscribe_many(contacts=Contact.objects.all(), channel=Channel.SMS, by_user=admin)
    services.record_hard_opt_out(phone=PHONE, channel=Channel.SMS, source=Source.KEYWORD,
                                 words="STOP — ñ 🛑")  # fmt: skip
    reply_start(PHONE)
    services.record_hard_opt_out(phone=PHONE, channel=Channel.CALLS, source=Source.DIGIT,
                                 words="pressed 9")  # fmt: skip
    bea.phone = "+14155550124"
    bea.save()  # carries the number's opt-out over
    return ConsentEvent.objects.order_by("id")


def verify_ledger() -> str:
    out = StringIO()
    call_command("verify_ledger", stdout=out)
    return out.getvalue()


def test_every_writer_s_rows_are_chained_per_number_and_channel_and_verify(history):
    rows = list(history)
    assert len(rows) > 10 and all(row.chain for row in rows)
    last: dict[tuple[str, str], int] = {}
    for row in rows:
        assert row.chained_to == last.get((row.phone, row.channel))
        last[row.phone, row.channel] = row.pk
    assert verify_ledger() == (
        f"{len(rows)} ledger rows read, {len(rows)} checked against their hashes: "
        "every one matches.\n"
    )


def without_the_guard(sql: str, params=()) -> None:
    """Change the ledger as a superuser can: with its triggers out of the way (until the
    test's transaction ends)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = replica")  # no triggers
        else:
            cursor.execute("DROP TRIGGER IF EXISTS contacts_consentevent_no_update")
            cursor.execute("DROP TRIGGER IF EXISTS contacts_consentevent_no_delete")
        cursor.execute(sql, params)
        if connection.vendor == "postgresql":
            cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.mark.parametrize(
    "change",
    ["note = 'changed my mind'", "\"after\" = 'soft'", "actor_id = 999", "at = at",
     "contact_id = COALESCE(contact_id, 0) + 1000",
     "chain = CASE WHEN substr(chain, 1, 1) = 'f' THEN 'e' ELSE 'f' END || substr(chain, 2)"],
)  # fmt: skip
def test_a_row_changed_behind_the_guard_is_named(history, change):
    target = history.filter(phone=PHONE, channel=Channel.SMS)[2]
    if change == "at = at":  # a time moved by a microsecond
        change = "at = at + INTERVAL '1 microsecond'" if connection.vendor == "postgresql" \
            else "at = strftime('%Y-%m-%d %H:%M:%f', at, '+1 second')"  # fmt: skip
    without_the_guard(f"UPDATE contacts_consentevent SET {change} WHERE id = %s", [target.pk])
    with pytest.raises(CommandError) as raised:
        verify_ledger()
    assert f"Row {target.pk} ({PHONE}, sms): its content or its hash changed" in str(raised.value)


def test_a_row_deleted_behind_the_guard_is_named_by_the_row_that_followed_it(history):
    gone, follower = list(history.filter(phone=PHONE, channel=Channel.SMS))[1:3]
    without_the_guard("DELETE FROM contacts_consentevent WHERE id = %s", [gone.pk])
    with pytest.raises(CommandError) as raised:
        verify_ledger()
    assert (
        f"Row {follower.pk} ({PHONE}, sms): it follows row {gone.pk}, which is not in its "
        "number's ledger any more." in str(raised.value)
    )


def test_the_application_cannot_write_its_own_hash(history):
    row = history.last()
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentEvent.objects.filter(pk=row.pk).update(chain="0" * 64)
    forged = {"phone": PHONE, "channel": Channel.SMS, "before": "subscribed", "after": "soft",
              "source": "user", "chain": "0" * 64, "chained_to": 1}  # fmt: skip
    if connection.vendor == "sqlite":  # the hash is written after the row: one given is refused
        with pytest.raises(IntegrityError), transaction.atomic():
            ConsentEvent.objects.create(**forged)
    else:  # the hash is written in place of the one given
        written = ConsentEvent.objects.get(pk=ConsentEvent.objects.create(**forged).pk)
        assert written.chain != "0" * 64 and written.chained_to != 1
    assert "every one matches" in verify_ledger()


def test_rows_from_before_the_chain_are_counted_and_a_fork_verifies(history):
    """Rows written before migration 0029 have no hash (the ledger's first ones, dated before
    it ran); two writers of one number at once may both follow the same row (a fork): both
    are checked against it."""
    oldest = history.first()
    rows = list(history.filter(phone=oldest.phone, channel=oldest.channel))
    first, second, third = rows[0], rows[1], rows[-1]  # the third, the number's newest
    assert first == oldest and len(rows) > 3
    without_the_guard(
        "UPDATE contacts_consentevent SET chain = '', at = %s WHERE id = %s",
        [BEFORE_THE_CHAIN, first.pk],
    )
    # The second row's hash was worked out from the first's: it no longer matches; the rest
    # of the number follows on from it.
    with pytest.raises(CommandError, match=f"Row {second.pk} "):
        verify_ledger()
    first.refresh_from_db()
    fork = {name: getattr(third, name) for name in chain.FIELDS} | {"chained_to": first.pk}
    without_the_guard(
        "UPDATE contacts_consentevent SET chained_to = %s, chain = %s WHERE id = %s",
        [first.pk, chain.chain_of(_as_read(third.pk) | {"chained_to": first.pk}, ""), third.pk],
    )
    assert fork["chained_to"] == first.pk
    result = chain.verify()
    assert result.before_the_chain == 1
    assert [finding.row for finding in result.findings] == [second.pk]
    assert result.forked == 2  # the second and the third follow the first


def test_a_row_whose_hash_was_removed_after_the_chain_began_is_named(history):
    """A number's newest row, its hash blanked behind the guard: no row follows it to tell,
    and it came after rows with hashes, so it is no row from before the chain."""
    newest = history.filter(phone=PHONE, channel=Channel.SMS).last()
    without_the_guard("UPDATE contacts_consentevent SET chain = '' WHERE id = %s", [newest.pk])
    with pytest.raises(CommandError) as raised:
        verify_ledger()
    assert (
        f"Row {newest.pk} ({PHONE}, sms): it has no hash, yet it was written after the chain "
        "began." in str(raised.value)
    )


@pytest.mark.parametrize("which", ["the ledger's first row", "every row"])
def test_a_row_whose_hash_was_removed_is_named_wherever_it_is(history, which):
    """The chain began when migration 0029 ran, not at the first row that still has a hash:
    blanking the first one, or all, hides nothing (a cold review of the first form)."""
    first = history.first()
    where = "WHERE id = %s" if which == "the ledger's first row" else "WHERE id >= %s"
    without_the_guard(f"UPDATE contacts_consentevent SET chain = '', note = 'forged' {where}",
                      [first.pk])  # fmt: skip
    with pytest.raises(CommandError) as raised:
        verify_ledger()
    assert f"Row {first.pk} " in str(raised.value)
    assert "it has no hash, yet it was written after the chain began" in str(raised.value)


def _as_read(pk: int) -> dict:
    """A row's fields as verify_ledger reads them."""
    return next(row for row in chain._rows() if row["id"] == pk)
