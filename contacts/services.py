"""Every change of a contact or of its consent goes through these functions.

Each writes the ledger (`ConsentEvent`) in the same transaction as the change. The database
triggers (migration 0013) refuse whatever would reverse a hard opt-out, so these checks are
the friendly half of the rule and the triggers the half that cannot be bypassed.
"""

import logging
from collections.abc import Collection, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.db.models import Case, Q, QuerySet, When
from django.db.models.functions import Now
from django.utils import timezone

from contacts import quiet_hours
from contacts.models import (
    CONFIRM_WITHIN,
    CONTACT_ACTIONS,
    HELD_PROMPT,
    MATCHED_LENGTH,
    OPT_IN_WORDS,
    Channel,
    ConfirmationPrompt,
    ConsentEvent,
    ConsentMethod,
    ConsentRecord,
    Contact,
    Disclosure,
    HardOptOutError,
    OptIn,
    OptInStatus,
    OptOut,
    PhoneOptOut,
    ReassignedNumber,
    Source,
    StatusChange,
    Tag,
    channels_revoked,
    is_pressed_key,
    opt_in_words,
    opted_out_at_all,
    reported_reassigned,
)
from contacts.phones import number_to_keep
from contacts.signals import (
    TextLater,
    TextMaybeSent,
    TextNotSent,
    TextOptedOut,
    revoked,
    text_wanted,
)
from crm.arrays import array_text
from crm.lookups import sqlite_in_json

logger = logging.getLogger(__name__)


@transaction.atomic
def create_contact(
    *,
    name: str,
    phone: str,
    email: str = "",
    status: str = Contact.Status.ACTIVE,
    tags: Iterable[str] = (),
) -> Contact:
    """Create a contact. If its number opted out (hard) before, the database makes it so."""
    contact = Contact(name=name, phone=phone, email=email, status=status)
    contact.full_clean()  # normalises the phone
    contact.save()
    if tags:
        contact.tags.set([Tag.objects.get_or_create(name=tag)[0] for tag in tags])
    return contact


def delete_contact(*, contact: Contact) -> None:
    """Delete a contact, its tag links and its own opt-outs. Its numbers' opt-outs
    (`PhoneOptOut`) and the consent ledger stay: a hard opt-out of its number holds for
    whoever has the number next."""
    contact.delete()


def hard_opt_out_error(opt_out: OptOut, phone: str = "") -> HardOptOutError:
    """Why a hard opt-out stays; `phone` is the contact's number now."""
    return HardOptOutError(
        f"{opt_out.describe(phone)} It is a hard opt-out, which nobody here can lift. "
        f"{opt_out.ends_when}",
        code="hard_opt_out",
    )


@transaction.atomic
def unsubscribe(
    *,
    contact: Contact,
    channel: Channel,
    by_user: AbstractBaseUser | None,
    note: str = "",
    source: Source = Source.USER,
) -> OptOut:
    """Opt the contact out of `channel` (soft). Already opted out: nothing changes.

    Its number held as a STOP holds it: a batch handing a message to the number finishes
    first, and one after sees the opt-out (it holds the number for the other contacts too:
    broadcasts.policy.HELD_BY_ANOTHER)."""
    lock_numbers([contact.phone])
    opt_out, created = OptOut.objects.get_or_create(
        contact=contact,
        channel=channel,
        defaults={"kind": OptOut.SOFT, "source": source, "actor": by_user},
    )
    if created:
        _record_soft_changes(
            [contact.pk], channel=channel, before=OptInStatus.SUBSCRIBED,
            after=OptInStatus.SOFT, source=source, actor=by_user, note=note,
        )  # fmt: skip
    return opt_out


@transaction.atomic
def resubscribe(
    *,
    contact: Contact,
    channel: Channel,
    by_user: AbstractBaseUser | None,
    note: str = "",
    source: Source = Source.USER,
) -> None:
    """Lift a soft opt-out. A hard one raises HardOptOutError (ONLY_THE_CONTACT).

    Its number held, as an unsubscribe holds it: the number's ledger rows follow one another
    (two writers at once would both follow the same row, whose deletion the chain could then
    not show), and a STOP of the number waits for it, or it for the STOP."""
    lock_numbers([contact.phone])
    deleted, _ = OptOut.objects.filter(contact=contact, channel=channel, kind=OptOut.SOFT).delete()
    if deleted:
        _record_soft_changes(
            [contact.pk], channel=channel, before=OptInStatus.SOFT,
            after=OptInStatus.SUBSCRIBED, source=source, actor=by_user, note=note,
        )  # fmt: skip
        return
    hard = OptOut.objects.filter(contact=contact, channel=channel, kind=OptOut.HARD).first()
    if hard:
        raise hard_opt_out_error(hard, contact.phone)


def keep_status_change(
    contact: Contact, before: str, *, by_user: AbstractBaseUser | None, how: str
) -> None:
    """Keep that `contact`'s overall status changed from `before` to what it is now, if it
    did (StatusChange), by whom and how."""
    if contact.status != before:
        StatusChange.objects.create(
            contact=contact, before=before, after=contact.status, by=by_user, how=how
        )


def lock_numbers(phones: list[str], *, shared: bool = False) -> None:
    """Serialise opt-outs of these numbers with the sends to them, until the transaction ends.

    A send holds the locks shared while it checks and hands its messages over; an opt-out
    takes its number's lock exclusively, so it either commits before the send's check or
    waits for the hand-over. On SQLite, a writing transaction holds the whole database, which
    does the same.
    """
    if connection.vendor == "postgresql" and phones:
        function = "pg_advisory_xact_lock_shared" if shared else "pg_advisory_xact_lock"
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT {function}(hashtextextended(phone, 0)) FROM unnest(%s::text[]) phone",
                [array_text(sorted(set(phones)))],
            )


def hold_numbers(new: Iterable[str], others: Iterable[str] = (), hard: Iterable[str] = ()) -> None:
    """Until the transaction ends, hold the numbers a batch writes, in the order a STOP or a
    START takes them: the number, then the opt-outs' table and its contacts. `new`: those of
    its new contacts; `others`: those whose contacts it changes otherwise (by their consent
    records); `hard`: those it opts out itself (held exclusively, as a STOP holds them).

    As the database's triggers hold a statement's numbers (contacts/guard/postgres): a lock
    for each, up to NUMBER_LOCKS_AT_MOST, or else the numbers' opt-outs' table. For more, the
    numbers that the triggers will lock one by one (a few new contacts' or hard opt-outs')
    are locked before that table, as the triggers lock them. Each lock in the numbers' order,
    in one pass: two batches never wait for each other in a circle."""
    new, hard = set(new), set(hard)
    every = new | set(others) | hard
    if connection.vendor != "postgresql" or not every:
        return
    held = every
    if len(every) > NUMBER_LOCKS_AT_MOST:
        held = (new if len(new) <= NUMBER_LOCKS_AT_MOST else set()) | (
            hard if len(hard) <= NUMBER_LOCKS_AT_MOST else set()
        )
    phones = sorted(held)
    with connection.cursor() as cursor:
        if phones:
            cursor.execute(
                "SELECT CASE WHEN exclusive THEN pg_advisory_xact_lock(hashtextextended(phone, 0))"
                " ELSE pg_advisory_xact_lock_shared(hashtextextended(phone, 0)) END"
                " FROM unnest(%s::text[], %s::boolean[]) AS numbers(phone, exclusive)",
                [array_text(phones), array_text([str(phone in hard).lower() for phone in phones])],
            )
        if len(every) > NUMBER_LOCKS_AT_MOST:
            cursor.execute("LOCK TABLE contacts_phoneoptout IN SHARE MODE")


# As contacts/guard/postgres/contacts_contact.sql (a lock for each number, up to 64).
NUMBER_LOCKS_AT_MOST = 64


# Without a savepoint inside a caller's transaction: no caller goes on after a failure here,
# and a STOP then takes two round trips fewer.
@transaction.atomic(savepoint=False)
def record_hard_opt_out(
    *,
    phone: str,
    channel: Channel,
    source: Source,
    words: str = "",
    matched: str = "",
    at: datetime | None = None,
) -> bool:
    """The contact behind `phone` opted out of `channel` themselves (STOP, the digit, …);
    `matched`: the rule that read their `words` so (messaging.keywords), kept in the ledger.

    It holds for the number: every contact with it, now or created later, is opted out (hard).
    Returns False when the number had opted out already: then the opt-out only becomes its
    current contacts' own, if they had inherited it (`_held_by_who_has_it_now`).
    """
    if source not in CONTACT_ACTIONS:
        raise ValueError(f"A hard opt-out is the contact's own action, not {source!r}.")
    phone = number_to_keep(phone)
    matched = matched[:MATCHED_LENGTH]
    lock_numbers([phone])
    at = at or timezone.now()
    # The database writes the number's ledger row, then copies the opt-out onto the number's
    # contacts, with a ledger row for each (migration 0013). One statement: NOT EXISTS for
    # SQLite, whose guard refuses an insert onto a number's opt-out (INSERT OR REPLACE would
    # rewrite it), ON CONFLICT for a concurrent STOP on PostgreSQL.
    at = connection.ops.adapt_datetimefield_value(at)
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_phoneoptout"
            " (phone, channel, opted_out_at, source, words, matched)"
            " SELECT %s, %s, %s, %s, %s, %s WHERE NOT EXISTS (SELECT 1 FROM contacts_phoneoptout"
            " WHERE phone = %s AND channel = %s)"
            " ON CONFLICT (phone, channel) DO NOTHING RETURNING id",
            [phone, channel, at, source, words, matched, phone, channel],
        )  # fmt: skip
        if cursor.fetchone() is not None:
            return True
        _held_by_who_has_it_now(cursor, phone=phone, channel=channel, source=source,
                                words=words, matched=matched, at=at)  # fmt: skip
        if source not in KEPT_AS_EVENTS:
            # A reply or a carrier's refusal is kept as its event (and may be processed late:
            # a row now would be dated late); a request made elsewhere (told to staff, on the
            # subscriptions page, in an import) only here: the number's ledger keeps it, as
            # asked again, so that an opt-in that came before it, processed late, sees it
            # and is dropped.
            cursor.execute(
                'INSERT INTO contacts_consentevent (contact_id, phone, channel, "before",'
                ' "after", source, note, matched) VALUES (NULL, %s, %s, %s, %s, %s, %s, %s)',
                [phone, channel, OptInStatus.HARD, OptInStatus.HARD, source, words, matched],
            )
        return False


# Revocations kept as events of the number (messaging.InboundEvent: its replies, a carrier's
# refusal), which an opt-in processed late sees by themselves.
KEPT_AS_EVENTS = (Source.KEYWORD, Source.DIGIT, Source.CARRIER)


@transaction.atomic(savepoint=False)
def record_revocation(
    *,
    phone: str,
    channel: Channel,
    source: Source,
    words: str = "",
    matched: str = "",
    at: datetime | None = None,
    lifted_since: Collection[Channel] = (),
) -> tuple[Channel, ...]:
    """The contact behind `phone` revoked their consent to `channel` themselves (STOP, the
    digit, a confirmed possible opt-out): a hard opt-out of every channel that revocation
    covers (`channels_revoked`: `channel`, or with the scope "all" every channel), each with
    these source and words and ledger rows of its own, all in one transaction or none. Returns
    the channels covered. `lifted_since`: those of them that the number's own new consent has
    lifted since `at`, left as they are (a revocation recorded late)."""
    at = at or timezone.now()
    covered = tuple(each for each in channels_revoked(channel, at) if each not in lifted_since)
    if not covered:
        return covered
    for each in covered:
        record_hard_opt_out(
            phone=phone, channel=each, source=source, words=words, matched=matched, at=at
        )
    revoked.send(Contact, phone=phone, channels=covered)
    return covered


def _held_by_who_has_it_now(
    cursor,
    *,
    phone: str,
    channel: Channel,
    source: Source,
    words: str,
    matched: str,
    at: datetime | str,
) -> None:
    """A STOP from a number that had opted out already is the act of whoever has it now: a
    contact that had inherited the opt-out with the number holds it from now on (it follows
    the contact to a new number), with a ledger row quoting these words."""
    inherited = """FROM contacts_optout o WHERE o.channel = %s AND o.kind = 'hard'
        AND o.inherited AND o.contact_id IN (SELECT c.id FROM contacts_contact c
                                             WHERE c.phone = %s)"""
    cursor.execute(
        f"""
        INSERT INTO contacts_consentevent
            (contact_id, phone, channel, "before", "after", source, note, via, copied_from,
             matched)
        SELECT o.contact_id, %s, o.channel, 'hard', 'hard', %s, %s, 'number',
               (SELECT p.id FROM contacts_phoneoptout p WHERE p.phone = %s AND p.channel = %s),
               %s
        {inherited}
        """,
        [phone, source, words, phone, channel, matched, channel, phone],
    )
    if cursor.rowcount:
        cursor.execute(
            "UPDATE contacts_optout SET inherited = FALSE, source = %s, words = %s,"
            f" opted_out_at = %s WHERE id IN (SELECT o.id {inherited})",
            [source, words, at, channel, phone],
        )


@transaction.atomic(savepoint=False)
def record_hard_opt_outs(*, phones: QuerySet, channel: Channel, source: Source, words: str) -> int:
    """Many numbers opted out of `channel` elsewhere (another system's STOP list, imported):
    those of `phones` (a query of one column) that had not, have now, as each would with
    record_hard_opt_out; the database copies them onto the numbers' contacts. Returns how
    many numbers that was."""
    if source not in CONTACT_ACTIONS:
        raise ValueError(f"A hard opt-out is the contact's own action, not {source!r}.")
    numbers, params = phones.order_by().query.sql_with_params()
    at = connection.ops.adapt_datetimefield_value(timezone.now())
    with connection.cursor() as cursor:
        if source not in KEPT_AS_EVENTS:
            # The numbers that had opted out already: their ledgers keep it as asked again
            # (record_hard_opt_out), before the others opt out.
            cursor.execute(
                f"""
                INSERT INTO contacts_consentevent
                    (phone, channel, "before", "after", source, note, matched)
                SELECT DISTINCT n.phone, %s, %s, %s, %s, %s, '' FROM ({numbers}) n
                WHERE EXISTS (SELECT 1 FROM contacts_phoneoptout p
                              WHERE p.phone = n.phone AND p.channel = %s)
                """,
                [channel, OptInStatus.HARD, OptInStatus.HARD, source, words, *params, channel],
            )
        cursor.execute(
            f"""
            INSERT INTO contacts_phoneoptout (phone, channel, opted_out_at, source, words)
            SELECT DISTINCT n.phone, %s, %s, %s, %s FROM ({numbers}) n
            WHERE NOT EXISTS (SELECT 1 FROM contacts_phoneoptout p
                              WHERE p.phone = n.phone AND p.channel = %s)
            ON CONFLICT (phone, channel) DO NOTHING
            """,
            [channel, at, source, words, *params, channel],
        )
        return cursor.rowcount


@transaction.atomic
def record_new_consent(*, phone: str, channel: Channel, words: str, reference: str) -> int:
    """The contact behind `phone` opted in to `channel` again themselves: an SMS START
    (`words`), or on a call from the number, the digit offered for it ("pressed 1").
    `reference` is the key of the stored webhook event it came in, not yet processed: one
    opt-in each, which the database checks against the event (messaging migration 0002).

    Lifts the number's hard opt-out of `channel` and every opt-out, soft or hard, of the
    contacts that have the number now; nothing of any other number or channel. Returns how
    many contacts were resubscribed. The opt-in is kept as the proof (`OptIn`): the database
    lets a hard opt-out go only when the newest ledger row for it names an unapplied opt-in
    from that very number (on PostgreSQL, recorded in this transaction).
    """
    if channel == Channel.SMS and opt_in_words(words) in OPT_IN_WORDS:
        source = Source.KEYWORD
    elif channel == Channel.CALLS and is_pressed_key(words):
        source = Source.DIGIT
    else:
        raise HardOptOutError(
            f"“{words}” is not the contact's own opt-in to {Channel(channel).label}: an SMS "
            "START opts in to SMS, the digit offered on a call to calls.",
            code="not_an_opt_in",
        )
    phone = number_to_keep(phone)
    lock_numbers([phone])
    opt_in = OptIn.objects.create(
        phone=phone, channel=channel, source=source, words=words, reference=reference
    )
    lift = {"phone": phone, "channel": channel, "after": OptInStatus.SUBSCRIBED,
            "source": source, "note": words, "opt_in": opt_in}  # fmt: skip
    if PhoneOptOut.objects.filter(phone=phone, channel=channel).exists():
        ConsentEvent.objects.create(contact=None, before=OptInStatus.HARD, **lift)
        PhoneOptOut.objects.filter(phone=phone, channel=channel).delete()
    opt_outs = OptOut.objects.filter(contact__phone=phone, channel=channel)
    ConsentEvent.objects.bulk_create(
        ConsentEvent(contact_id=row.contact_id, before=row.kind, **lift)
        for row in opt_outs.only("contact_id", "kind")
    )
    deleted, _ = opt_outs.delete()
    OptIn.objects.filter(pk=opt_in.pk).update(applied=True)  # it lifts nothing more
    return deleted


def record_consent(
    *,
    phone: str,
    channel: Channel,
    method: ConsentMethod,
    given_at: datetime,
    by_user: AbstractBaseUser | None = None,
    disclosure: Disclosure | None = None,
    words: str = "",
    reference: str = "",
    contact: Contact | None = None,
    awaiting: bool = False,
) -> ConsentRecord:
    """Keep that the contact behind `phone` agreed to receive `channel`, at `given_at`, by
    `method`, having seen `disclosure`: recorded by `by_user`, or by the contact's own message
    (`words`, in the stored webhook event `reference`). `contact`: who has the number, if
    known (else `holder_of` it, if any). `awaiting`: it holds once the number confirms it
    (ask_to_confirm). It lifts no opt-out."""
    phone = number_to_keep(phone)
    if contact is None:
        contact = holder_of(phone)
    status = ConsentRecord.Status.AWAITING if awaiting else ConsentRecord.Status.CONFIRMED
    return ConsentRecord.objects.create(
        phone=phone, channel=channel, method=method, given_at=given_at, contact=contact,
        recorded_by=by_user, disclosure=disclosure, words=words, reference=reference,
        status=status,
    )  # fmt: skip


def holder_of(phone: str) -> Contact | None:
    """The contact who has `phone` now, as far as the contacts say: the newest that is not
    archived (an archived one may have had the number before), else the newest."""
    archived = Case(When(status=Contact.Status.ARCHIVED, then=1), default=0)
    return Contact.objects.filter(phone=phone).order_by(archived, "-pk").first()


def confirmation_prompt(channels: Iterable[str]) -> str:
    """The one text that asks a number to confirm consent that did not come from it (a web
    form, an import), as carriers ask: who, what and how often, rates, HELP and STOP."""
    wanted = set(channels)
    what = {
        frozenset({Channel.SMS}): settings.SMS_PROGRAM,
        frozenset({Channel.CALLS}): "our calls",
    }.get(frozenset(wanted), f"{settings.SMS_PROGRAM} by text and calls")
    return (
        f"{settings.BUSINESS_NAME}: reply YES to confirm you want {what}, "
        f"{settings.SMS_FREQUENCY}. Msg & data rates may apply. Reply HELP for help, STOP to "
        "cancel."
    )


def ask_to_confirm(phone: str, channels: Iterable[str]) -> str:
    """Text `phone` once, asking it to confirm its consent awaiting confirmation to
    `channels` with a YES within CONFIRM_WITHIN (the number's reply confirms it:
    `confirm_awaited`), and keep the prompt (`_send_or_hold`: held during the number's quiet
    hours, as broadcasts keep them, and sent by the worker when they end). A prompt held for
    the number asks about these channels too: one text, not two. Says what happened."""
    phone = number_to_keep(phone)
    with transaction.atomic():
        prompt = _queued(phone, channels)
        prompt.not_sent, prompt.maybe_sent = HANDING_OVER, True  # taken
        prompt.save()
    return _go(prompt)


def queue_prompts(asks: dict[str, Iterable[str]]) -> dict[str, ConfirmationPrompt]:
    """In the caller's transaction: for each number, its held prompt (a new one if none is),
    asking about its channels too, due now, for the worker to send (`send_held_prompts`);
    by number. An import's: kept with its batch, and sent without it waiting."""
    _take_prompt_turns(list(asks))
    held = ConfirmationPrompt.objects.select_for_update().filter(
        HELD_PROMPT, phone__any=sorted(asks)
    )
    prompts = {prompt.phone: prompt for prompt in held}
    now = timezone.now()
    for phone, channels in asks.items():
        prompt = prompts.setdefault(phone, ConfirmationPrompt(phone=phone))
        prompt.channels = _in_order({*channels, *prompt.channels.split()})
        prompt.send_at = now
    ConfirmationPrompt.objects.bulk_update(
        [prompt for prompt in prompts.values() if prompt.pk], ["channels", "send_at"]
    )
    ConfirmationPrompt.objects.bulk_create([prompt for prompt in prompts.values() if not prompt.pk])
    return prompts


@transaction.atomic
def prompt_not_delivered(sid: str, why: str, *, expired: bool) -> bool:
    """The provider could not deliver the prompt with the id `sid` (`why`): it asked nothing,
    and is kept as not sent. One that expired in the provider's queue as the number's quiet
    hours began (`expired`) is asked again, held until they end. Whether `sid` is a prompt's."""
    prompt = ConfirmationPrompt.objects.select_for_update().filter(sid=sid).exclude(sid="").first()
    if prompt is None or prompt.sent_at is None:
        return prompt is not None
    prompt.sent_at, prompt.not_sent = None, f"the provider could not deliver it: {why}"[:200]
    prompt.save(update_fields=["sent_at", "not_sent"])
    if expired:
        lock_numbers([prompt.phone], shared=True)
        queue_prompts({prompt.phone: prompt.channels.split()})
    return True


def _queued(phone: str, channels: Iterable[str]) -> ConfirmationPrompt:
    """The number's held prompt (a new one if none is), asking about `channels` too, due now."""
    return queue_prompts({phone: channels})[phone]


def prompt_of(phone: str) -> ConfirmationPrompt | None:
    """The text asking the number to confirm what awaits it, as its consent card tells of
    it: the one held, else the latest, but not one that another text asks for."""
    prompts = ConfirmationPrompt.objects.filter(phone=phone).exclude(
        not_sent__in=[ASKED_ALREADY, ASKED_LATER]
    )
    return prompts.filter(HELD_PROMPT).first() or prompts.order_by("-pk").first()


# How many held prompts the worker takes at a time (`send_held_prompts`).
HELD_PROMPTS_AT_ONCE = 100
# A prompt taken to be sent says so, and that it may have gone, until it is sent or held: if
# its sender stops in between, it stays so, and is not sent again (the provider may have it).
HANDING_OVER = "it was being handed over to the provider, and its sender has not said since."
# Prompts not sent because another asks what they would: not what staff look for on the card.
ASKED_ALREADY = "a text sent since the consent was recorded asks about it already."
ASKED_LATER = "asked in a later text held for the number."


def send_held_prompts() -> int:
    """Send the prompts held that are due, oldest first, each checked again as it goes
    (`_send_or_hold`): the worker's, every HELD_PROMPTS_SECONDS. How many it took, at most
    HELD_PROMPTS_AT_ONCE; one that another worker took is left to it."""
    due = ConfirmationPrompt.objects.filter(HELD_PROMPT, send_at__lte=timezone.now())
    taken = 0
    for pk in due.order_by("send_at", "pk").values_list("pk", flat=True)[:HELD_PROMPTS_AT_ONCE]:
        if not due.filter(pk=pk).update(not_sent=HANDING_OVER, maybe_sent=True):
            continue
        taken += 1
        try:
            _go(ConfirmationPrompt.objects.get(pk=pk))
        except Exception:  # the database went away, say: the rest go on
            logger.exception("The held confirmation prompt %s failed", pk)
    return taken


def _go(prompt: ConfirmationPrompt) -> str:
    """`_send_or_hold` the prompt taken; where that fails before the text is handed over (the
    database busy or away, say), hold it to be looked at again, rather than leave it taken
    (which says it may have gone). What fails during the hand-over leaves it taken."""
    try:
        return _send_or_hold(prompt)
    except Exception as error:
        if prompt.handed_over:
            raise
        logger.exception("The confirmation prompt to %s waits: it failed", prompt.phone)
        with transaction.atomic():
            lock_numbers([prompt.phone], shared=True)
            _take_prompt_turns([prompt.phone])
            return _held(prompt, timezone.now() + PROMPT_RETRY_AFTER, _looked_at_again(error))


def _looked_at_again(why: Exception) -> str:
    return f"to be looked at again in {PROMPT_RETRY_AFTER.seconds // 60} minutes ({why})"


@transaction.atomic
def _send_or_hold(prompt: ConfirmationPrompt) -> str:
    """Send a prompt taken (HANDING_OVER) now, hold it, or neither, and keep what happened to
    it; say it.

    The number is locked as a broadcast's send locks it while it checks and hands over
    (`lock_numbers`): a STOP either commits before the checks or waits for the hand-over.
    Then the number's turn: another prompt of it handed over meanwhile is seen sent. It asks
    only about what awaits confirmation and no text sent since asks about: a contact deleted
    or moved to another number since made its consent void."""
    phone = prompt.phone
    lock_numbers([phone], shared=True)
    _take_prompt_turns([phone])
    awaiting = ConsentRecord.objects.filter(
        phone=phone, status=ConsentRecord.Status.AWAITING, channel__in=prompt.channels.split()
    )
    prompt.channels = _in_order(_not_asked_yet(phone, awaiting))
    refused = _why_no_prompt(phone)
    if not refused and not prompt.channels:
        refused = ASKED_ALREADY if awaiting.exists() else "nothing awaits confirmation any more."
    if refused:
        return _not_sent(prompt, refused, f"No text asked to confirm it: {refused}")
    now = timezone.now()
    valid_for = None
    if quiet_hours.enforced():
        places = quiet_hours.places_of(phone)
        opens = quiet_hours.opens_at_all(places, now)
        if opens is None:
            place = quiet_hours.describe(quiet_hours.last_to_open(places, now))
            refused = f"the number's quiet hours never end ({place} never opens)."
            return _not_sent(prompt, refused, f"No text asked to confirm it: {refused}")
        if opens > now:
            when = quiet_hours.opening_in_words(places, opens)
            return _held(prompt, opens, f"until its quiet hours end, at {when}")
        # Queued at the provider, it is not sent once the number's quiet hours begin.
        valid_for = int((quiet_hours.closes_at_all(places, now) - now).total_seconds())
    text = confirmation_prompt(prompt.channels.split())
    prompt.handed_over = True
    try:
        wanted = text_wanted.send(Contact, phone=phone, text=text, valid_for=valid_for)
        sent = [sid for _, sid in wanted]
    except TextLater as error:
        return _held(prompt, now + PROMPT_RETRY_AFTER, _looked_at_again(error))
    except TextNotSent as error:
        return _refused(prompt, error)
    if not sent:
        refused = "no messaging provider is set up."
        return _not_sent(prompt, refused, f"No text asked to confirm it: {refused}")
    prompt.sent_at, prompt.sid, prompt.not_sent, prompt.maybe_sent = Now(), sent[0], "", False
    prompt.save()
    return f"A text asked the number to reply YES within {CONFIRM_WITHIN.days} days to confirm it."


# A prompt held for a reply of the number to be read, or at the provider's asking, is looked
# at again this much later.
PROMPT_RETRY_AFTER = timedelta(minutes=5)


def _not_asked_yet(phone: str, awaiting: QuerySet[ConsentRecord]) -> set[str]:
    """The channels of the `awaiting` records that no text sent since each was recorded asks
    about (and would confirm: within CONFIRM_WITHIN)."""
    sent = ConfirmationPrompt.objects.filter(
        phone=phone, sent_at__gte=timezone.now() - CONFIRM_WITHIN
    ).values_list("channels", "sent_at")
    asked = [(channels.split(), sent_at) for channels, sent_at in sent]
    return {
        record.channel
        for record in awaiting
        if not any(
            record.channel in channels and record.recorded_at <= at for channels, at in asked
        )
    }


def _refused(prompt: ConfirmationPrompt, error: TextNotSent) -> str:
    """What the provider answered, kept. A carrier's opt-out the sender of texts keeps with
    the prompt's outcome, and records as the number's own revocation once it is kept."""
    logger.warning("The confirmation prompt to %s was not sent: %s", prompt.phone, error)
    said = f"The text asking to confirm it failed ({error}): the consent stays awaiting."
    if isinstance(error, TextOptedOut):
        return _not_sent(prompt, "the carrier says the number opted out (21610).", said)
    if isinstance(error, TextMaybeSent):
        why = f"the provider did not say whether it took it ({error})."
        said = (
            f"The text asking to confirm it may have gone ({error}): a YES to it confirms "
            "nothing; record the consent again to ask again."
        )
        return _not_sent(prompt, why, said, maybe=True)
    return _not_sent(prompt, f"the text failed ({error}).", said)


def _held(prompt: ConfirmationPrompt, send_at: datetime, held_for: str) -> str:
    """Hold the prompt until `send_at` (`held_for` says why, in words). Another prompt of the
    number held already (asked for at the same moment) is asked in this one: a number has one
    held."""
    others = ConfirmationPrompt.objects.filter(HELD_PROMPT, phone=prompt.phone)
    for other in others.exclude(pk=prompt.pk).select_for_update():
        prompt.channels = _in_order({*prompt.channels.split(), *other.channels.split()})
        _not_sent(other, ASKED_LATER, "")
    prompt.send_at, prompt.held_for = send_at, held_for[:200]
    prompt.not_sent, prompt.maybe_sent = "", False
    prompt.save()
    return (
        f"A text will ask the number to reply YES within {CONFIRM_WITHIN.days} days to confirm "
        f"it, held {held_for}."
    )


def _take_prompt_turns(phones: list[str]) -> None:
    """Until the transaction ends, hold these numbers' turns to change their prompts: the asks
    of one number at once keep one prompt held. On PostgreSQL, a lock of its own for each
    number, taken in the numbers' order, and after the numbers' locks when both are taken
    (an import's batch queues its prompts last); on SQLite, a writing transaction holds the
    whole database.

    For more than PROMPT_TURNS_AT_MOST numbers, the prompts' table is locked instead, as a
    lock each would outgrow PostgreSQL's table of locks (`max_locks_per_transaction`): an
    import's batch of 20,000 numbers failed so. A number's own turn takes the table's lock
    that a writer takes, first: it waits for such a batch, and the batch for it."""
    if connection.vendor != "postgresql" or not phones:
        return
    with connection.cursor() as cursor:
        if len(phones) > PROMPT_TURNS_AT_MOST:
            cursor.execute("LOCK TABLE contacts_confirmationprompt IN SHARE ROW EXCLUSIVE MODE")
            return
        cursor.execute("LOCK TABLE contacts_confirmationprompt IN ROW EXCLUSIVE MODE")
        cursor.execute(
            "SELECT pg_advisory_xact_lock(hashtextextended(phone, 2))"
            " FROM unnest(%s::text[]) phone",
            [array_text(sorted(set(phones)))],
        )


# As the contacts' own triggers take their numbers' locks (contacts/guard/postgres).
PROMPT_TURNS_AT_MOST = 64


def _in_order(channels: Iterable[str]) -> str:
    return " ".join(channel for channel in Channel if channel in set(channels))


def _why_no_prompt(phone: str) -> str:
    """Why no prompt may go to the number now, or ""."""
    if opted_out_at_all(phone, Channel.SMS):
        return "the number opted out of texts."
    if Contact.objects.filter(phone=phone).exclude(status=Contact.Status.ACTIVE).exists():
        return "a contact with the number is not active: record the consent again once it is."
    if report := reported_reassigned().filter(phone=phone).first():
        return (
            f"the number was reported reassigned ({report.describe()}). "
            "Check the contact's number first."
        )
    return ""


def _not_sent(prompt: ConfirmationPrompt, why: str, said: str, *, maybe: bool = False) -> str:
    """Keep why the prompt is not sent (`maybe`: or not known sent); say `said`."""
    prompt.not_sent, prompt.maybe_sent = why[:200], maybe
    prompt.save()
    return said


@transaction.atomic
def confirm_awaited(*, phone: str, reference: str, at: datetime) -> int:
    """The number replied YES (the stored webhook event `reference`, received `at`): the
    consent awaiting confirmation that a prompt sent to it within CONFIRM_WITHIN before asked
    about (those channels, recorded before the prompt) is confirmed, with the reply as its
    proof. A YES no prompt asked for confirms nothing. Returns how many records."""
    phone = number_to_keep(phone)
    prompts = ConfirmationPrompt.objects.filter(
        phone=phone, sent_at__gte=at - CONFIRM_WITHIN, sent_at__lte=at
    )
    asked = Q()
    for channels, sent_at in prompts.values_list("channels", "sent_at"):
        asked |= Q(channel__in=channels.split(), recorded_at__lte=sent_at)
    if not asked:
        return 0
    awaited = ConsentRecord.objects.filter(asked, phone=phone, status=ConsentRecord.Status.AWAITING)
    confirmed = ConsentRecord.Status.CONFIRMED
    return awaited.update(status=confirmed, confirmed_at=at, confirmation=reference)


@transaction.atomic
def record_keyword_consent(
    *, phone: str, words: str, reference: str, given_at: datetime, lift: bool
) -> ConsentRecord:
    """The contact behind `phone` texted a keyword to receive texts (JOIN, START…): their
    consent to SMS, with their message as its proof (`reference`, the stored webhook event),
    and the disclosure of settings.KEYWORD_DISCLOSURE if there is one: its version written by
    `given_at` (a keyword kept for the worker may be read after a newer one); none, if every
    one came later. `lift`: the soft opt-outs of SMS of the number's contacts end too
    (their own wish outweighs a user's choice); a START lifts a hard one by
    record_new_consent before."""
    disclosure = None
    if settings.KEYWORD_DISCLOSURE:
        versions = Disclosure.objects.filter(title=settings.KEYWORD_DISCLOSURE)
        disclosure = versions.filter(created_at__lte=given_at).order_by("-version").first()
    soft = OptOut.objects.filter(contact__phone=phone, channel=Channel.SMS, kind=OptOut.SOFT)
    if lift and soft.exists():  # else no lock of the opt-outs of numbers for nothing
        resubscribe_many(
            contacts=list(Contact.objects.filter(phone=phone).values_list("pk", flat=True)),
            channel=Channel.SMS, by_user=None, note=words, source=Source.JOIN,
        )  # fmt: skip
    return record_consent(
        phone=phone, channel=Channel.SMS, method=ConsentMethod.KEYWORD, given_at=given_at,
        disclosure=disclosure, words=words, reference=reference,
    )  # fmt: skip


@transaction.atomic
def record_reassigned(
    *,
    phone: str,
    how: ReassignedNumber.How,
    words: str,
    reference: str = "",
    by_user: AbstractBaseUser | None = None,
) -> ReassignedNumber:
    """`phone` no longer reaches whoever consented at it: its holder replied "wrong number"
    (`words`, in the stored webhook event `reference`), or the reassigned numbers check said so
    (`by_user` ran it). Keep the report and make every consent record of the number void; until
    consent given since is recorded, no broadcast reaches it (broadcasts.policy). Records no
    opt-out: nobody asked to stop, and whoever consented is not there to."""
    phone = number_to_keep(phone)
    lock_numbers([phone])  # a send to the number checks its consent before or after this
    report = ReassignedNumber.objects.create(
        phone=phone, how=how, words=words, reference=reference, by_user=by_user
    )
    report.refresh_from_db(fields=["reported_at"])
    voided = ConsentRecord.objects.filter(
        phone=phone, status__in=[ConsentRecord.Status.CONFIRMED, ConsentRecord.Status.AWAITING]
    ).update(
        status=ConsentRecord.Status.VOID, voided_at=report.reported_at,
        void_reason=f"number reassigned: {report.describe()}"[:200],
    )  # fmt: skip
    logger.info("%s reported reassigned (%s); %d consent records made void", phone, how, voided)
    return report


def _record_soft_changes(
    contact_ids: list[int],
    *,
    channel: Channel,
    before: OptInStatus,
    after: OptInStatus,
    source: Source,
    actor: AbstractBaseUser | None,
    note: str,
) -> None:
    """The ledger rows of a soft change of `channel`, a user's or an import's (an opt-out or
    its lift), from `before` to `after`: one for each of these contacts, with its number now,
    in the order of their ids. Each row's id and time come from the database.

    The ledger's other writers: the database, for a number's hard opt-out and its copies
    (migration 0013); `_held_by_who_has_it_now`, for a STOP again from a number; and
    `record_new_consent`, for the contact's own opt-in."""
    if not contact_ids:
        return
    chosen, params = among("c.id", sorted(contact_ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO contacts_consentevent
                (contact_id, phone, channel, "before", "after", source, actor_id, note)
            SELECT c.id, c.phone, %s, %s, %s, %s, %s, %s FROM contacts_contact c
            WHERE {chosen} ORDER BY c.id
            """,
            [channel, before, after, source, actor.pk if actor else None, note, *params],
        )


# Bulk changes: one set-based statement each, whatever the number of contacts.


def _hold_numbers_opt_outs() -> None:
    """On PostgreSQL, until the transaction ends: a number's opt-out (a STOP) waits for it,
    and it waits for those under way. Otherwise a STOP would meet contacts' soft opt-outs
    written here and not committed yet, and fail on them; or this would meet the hard
    opt-outs of a STOP committed after it began, and fail. A table lock, as the guard takes
    for a statement of many numbers (migration 0013): SHARE, which these share with contact
    writes; a bulk task takes it for one short transaction at a time (contacts.bulk.run).
    On SQLite, a writing transaction holds the whole database, which does the same."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"LOCK TABLE {PhoneOptOut._meta.db_table} IN SHARE MODE")


def among(column: str, values: QuerySet | list) -> tuple[str, list]:
    """SQL that `column` is one of `values` (a query of one column, or the values), and its
    parameters.

    A batch's ids are given as a list, and written out rather than selected by a sub-query:
    with statistics older than the contacts just created, the planner once looked such a
    sub-query up for each contact by the number index's second column, and an import
    crawled. As one array on PostgreSQL: psycopg spent seconds of an import reading
    statements of 20,000 placeholders (bench/NOTES.md). On SQLite, which has no arrays, as
    one JSON parameter: a parameter each failed past SQLite's limit (32,766 a statement) for a
    bulk task's batch of more (`BULK_BATCH_SIZE`)."""
    if isinstance(values, QuerySet):
        sql, params = values.order_by().query.sql_with_params()
        return f"{column} IN ({sql})", list(params)
    if connection.vendor == "postgresql":
        return f"{column} = ANY(%s)", [array_text(values)]
    if found := sqlite_in_json(column, list(values)):
        return found
    return f"{column} IN ({', '.join(['%s'] * len(values)) or 'NULL'})", values


def _ids(contacts: QuerySet[Contact] | list[int]) -> QuerySet | list[int]:
    return contacts.values("pk") if isinstance(contacts, QuerySet) else contacts


@transaction.atomic
def unsubscribe_many(
    *,
    contacts: QuerySet[Contact] | list[int],
    channel: Channel,
    by_user: AbstractBaseUser | None,
    note: str = "",
    source: Source = Source.USER,
) -> int:
    """Opt `contacts` out of `channel` (soft); those already opted out stay as they are,
    also when another transaction opts them out at the same time (ON CONFLICT).

    Returns how many changed.
    """
    _hold_numbers_opt_outs()
    chosen, params = among("c.id", _ids(contacts))
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    actor = by_user.pk if by_user else None
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO contacts_optout
                (contact_id, channel, kind, opted_out_at, source, actor_id, words)
            SELECT c.id, %s, 'soft', %s, %s, %s, '' FROM contacts_contact c
            WHERE {chosen} AND NOT EXISTS (
                SELECT 1 FROM contacts_optout o WHERE o.contact_id = c.id AND o.channel = %s)
            ON CONFLICT (contact_id, channel) DO NOTHING
            RETURNING contact_id
            """,
            [channel, now, source, actor, *params, channel],
        )
        written = [contact_id for (contact_id,) in cursor.fetchall()]
    _record_soft_changes(
        written, channel=channel, before=OptInStatus.SUBSCRIBED, after=OptInStatus.SOFT,
        source=source, actor=by_user, note=note,
    )  # fmt: skip
    return len(written)


@transaction.atomic
def resubscribe_many(
    *,
    contacts: QuerySet[Contact] | list[int],
    channel: Channel,
    by_user: AbstractBaseUser | None,
    note: str = "",
    source: Source = Source.USER,
) -> tuple[int, int]:
    """Lift the soft opt-outs of `contacts` from `channel`; hard ones are skipped.

    Returns (resubscribed, skipped because hard).
    """
    _hold_numbers_opt_outs()
    chosen, params = among("o.contact_id", _ids(contacts))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""DELETE FROM contacts_optout WHERE id IN (
                    SELECT o.id FROM contacts_optout o
                    WHERE o.channel = %s AND o.kind = 'soft' AND {chosen})
                RETURNING contact_id""",
            [channel, *params],
        )
        lifted = [contact_id for (contact_id,) in cursor.fetchall()]
        cursor.execute(
            f"SELECT COUNT(*) FROM contacts_optout o WHERE o.channel = %s AND o.kind = 'hard'"
            f" AND {chosen}",
            [channel, *params],
        )
        (hard,) = cursor.fetchone()
    _record_soft_changes(
        lifted, channel=channel, before=OptInStatus.SOFT, after=OptInStatus.SUBSCRIBED,
        source=source, actor=by_user, note=note,
    )  # fmt: skip
    return len(lifted), hard


@transaction.atomic
def tag_many(*, contacts: QuerySet[Contact] | list[int], tag: Tag) -> int:
    """Add `tag` to `contacts`. Returns how many did not have it.

    Those that have it are left by the unique (contact, tag) index. Looked for by a NOT
    EXISTS, a new tag's contacts were read in full for each contact of a task's batch: the
    planner, with no statistics of the tag, took it for one row (bench/NOTES.md)."""
    chosen, params = among("c.id", _ids(contacts))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO contacts_contact_tags (contact_id, tag_id)
            SELECT c.id, %s FROM contacts_contact c WHERE {chosen}
            ON CONFLICT DO NOTHING
            """,
            [tag.pk, *params],
        )
        return cursor.rowcount


def untag_many(*, contacts: QuerySet[Contact] | list[int], tag: Tag) -> int:
    """Remove `tag` from `contacts`. Returns how many had it."""
    chosen, params = among("contact_id", _ids(contacts))
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM contacts_contact_tags WHERE tag_id = %s AND {chosen}", [tag.pk, *params]
        )
        return cursor.rowcount
