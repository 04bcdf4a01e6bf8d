"""The outbox as people read it: what the console backend sent, and the replies the webhooks
gave (STOP, START and HELP confirmations, the answers to calls), newest first.

Both are TwiML or text in the database; `entries` reads one page of them and says what each
one says: an SMS's text, or a call's steps in order (what it says, what it plays, which key does
what and where the key is sent).
"""

from dataclasses import dataclass, field
from datetime import datetime
from xml.etree import ElementTree

from django.db import connection
from django.db.models import BooleanField, CharField, F, QuerySet, Value

from contacts.models import Contact, pressed
from contacts.phones import format_phone
from messaging.models import ANSWERED, InboundEvent, OutboundMessage
from messaging.selectors import contacts_by_phone

SENT, REPLY = "sent", "reply"


def messages(*, phone: str = "", upto: int | None = None) -> QuerySet:
    """Every message of the outbox, newest first, as rows of one query: what the backend sent,
    and each webhook's answer that says something (an SMS reply, a call's answer). `upto`:
    how many rows are read at most (a page's end); where the database can (PostgreSQL), each
    side is cut there first, read along its index: ordered as a whole only, it read and
    sorted every reply ever kept for each page."""
    sent = OutboundMessage.objects.annotate(
        origin=Value(SENT, output_field=CharField()),
        number=F("to"),
        text=F("body"),
        at=F("sent_at"),
        maybe=F("maybe_sent"),
    )
    replies = InboundEvent.objects.filter(ANSWERED).annotate(
        origin=Value(REPLY, output_field=CharField()),
        number=F("phone"),
        text=F("response"),
        at=F("received_at"),
        maybe=Value(False, output_field=BooleanField()),
    )
    if phone:
        sent, replies = sent.filter(to=phone), replies.filter(phone=phone)
    columns = ["origin", "id", "kind", "number", "text", "at", "maybe"]
    sent, replies = sent.order_by().values(*columns), replies.order_by().values(*columns)
    if upto is not None and connection.features.supports_slicing_ordering_in_compound:
        sent, replies = (side.order_by("-at", "-id")[:upto] for side in (sent, replies))
    return sent.union(replies, all=True).order_by("-at", "-id")


class Pages:
    """The outbox's messages as a Paginator reads them: counted, and a page at a time."""

    def __init__(self, phone: str = ""):
        self.phone = phone

    def count(self) -> int:
        return messages(phone=self.phone).count()

    def __getitem__(self, page: slice) -> list[dict]:
        if page.stop <= page.start:  # the empty first page of an empty outbox
            return []
        return list(messages(phone=self.phone, upto=page.stop)[page])


@dataclass
class Step:
    """One thing a call does: say, play, wait for a key, pause or hang up."""

    action: str
    text: str = ""
    keys: str = ""
    url: str = ""
    steps: list["Step"] = field(default_factory=list)


@dataclass
class Entry:
    origin: str
    kind: str
    number: str
    at: datetime
    texts: list[str] = field(default_factory=list)
    steps: list[Step] = field(default_factory=list)
    raw: str = ""  # what could not be read as TwiML
    contacts: list[Contact] = field(default_factory=list)
    in_reply_to: str = ""
    maybe_sent: bool = False  # the provider did not say whether it took it

    @property
    def number_display(self) -> str:
        return format_phone(self.number) if self.number else ""

    @property
    def label(self) -> str:
        if self.origin == SENT:
            label = "SMS" if self.kind == OutboundMessage.Kind.SMS else "Call"
            return f"{label}, may have gone" if self.maybe_sent else label
        return "SMS reply" if self.kind == InboundEvent.Kind.SMS else "Answer to a call"


def _steps(element) -> list[Step]:
    steps = []
    for child in element:
        match child.tag:
            case "Say":
                steps.append(Step("say", text=(child.text or "").strip()))
            case "Play":
                steps.append(Step("play", url=(child.text or "").strip()))
            case "Gather":
                keys = child.get("numDigits", "")
                steps.append(Step("gather", keys=keys, url=child.get("action", ""),
                                  steps=_steps(child)))  # fmt: skip
            case "Pause":
                steps.append(Step("pause", text=child.get("length", "1")))
            case "Hangup":
                steps.append(Step("hangup"))
            case "Message":
                steps.append(Step("message", text="".join(child.itertext()).strip()))
            case _:
                steps.append(Step(child.tag.lower(), text="".join(child.itertext()).strip()))
    return steps


def _read(entry: Entry, text: str) -> None:
    """Fill the entry with what the message says."""
    if entry.origin == SENT and entry.kind == OutboundMessage.Kind.SMS:
        entry.texts = [text]
        return
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError:
        entry.raw = text
        return
    steps = _steps(root)
    if entry.kind == InboundEvent.Kind.SMS:
        entry.texts = [step.text for step in steps if step.action == "message"]
    else:
        entry.steps = steps


def entries(rows) -> list[Entry]:
    """The page's rows as entries, with the contacts that have each number and, for a reply,
    the words it answered."""
    page = []
    for row in rows:
        entry = Entry(row["origin"], row["kind"], row["number"], row["at"])
        entry.maybe_sent = bool(row["maybe"])
        _read(entry, row["text"])
        page.append(entry)
    reply_ids = [row["id"] for row in rows if row["origin"] == REPLY]
    if reply_ids:
        payloads = dict(InboundEvent.objects.filter(id__in=reply_ids).values_list("id", "payload"))
        for row, entry in zip(rows, page, strict=True):
            if row["origin"] == REPLY:
                payload = payloads.get(row["id"], {})
                entry.in_reply_to = payload.get("Body") or (
                    pressed(payload["Digits"]) if payload.get("Digits") else ""
                )
    contacts = contacts_by_phone(entry.number for entry in page if entry.number)
    for entry in page:
        entry.contacts = contacts.get(entry.number, [])
    return page
