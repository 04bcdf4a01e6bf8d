"""Load demo contacts covering every opt-in state, and the three demo users.

Contacts are written with set-based INSERT … SELECT statements, so a million rows take about
a minute on PostgreSQL. Hard opt-outs are written as opt-outs of phone numbers, and the
database carries them to every contact with the number, as in real use. The command is
idempotent: contacts are loaded only into an empty table, and the users are brought up to
date on every run.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from contacts import services
from contacts.models import Channel, ConsentMethod, Contact, Disclosure, Tag
from crm import planner
from crm.roles import ADMIN, MANAGER, STAFF

DEMO_USERS = {"staff": STAFF, "admin": ADMIN, "manager": MANAGER}

FIRST_NAMES = """
    Olivia Liam Emma Noah Amelia Oliver Sophia Elijah Isabella James Ava William Mia Lucas
    Charlotte Henry Harper Theodore Evelyn Mateo Aisha Wei Priya Diego Fatima Kenji Ingrid
    Tomasz Chiara Kwame Leila Rafael Sofia Arjun Nadia Jonas Yuki Amara Pablo Hana
""".split()
LAST_NAMES = """
    Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez
    Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris
    Nguyen Okafor Kowalski Rossi Tanaka Schmidt Haddad Patel Silva Novak Larsen Ivanova Mensah
""".split()
AREA_CODES = (
    "201 212 213 305 312 415 503 512 602 617 702 713 720 808 818 901 917 919 971 978".split()
)
TAGS = ["Customers", "Leads", "Newsletter", "Event 2026", "Wholesale"]

# Every contact falls in one of 100 buckets (its place n in the seed, modulo 100); the buckets
# set its state. By n rather than by id: a database's ids need not start at 1 (in tests they
# follow whatever the sequence gave before), and the states must not depend on it.
# Buckets 0-89 stay subscribed to SMS: about 90%, as in a real list.
SMS_SOFT = (90, 91, 92, 93, 98, 99)
SMS_HARD = (94, 95, 96, 97)  # replied STOP
CALLS_SOFT = (5, 6, 7, 8, 96, 98, 99)  # 96: hard on SMS, soft on calls
CALLS_HARD = (10, 11, 12, 92, 95)  # pressed the digit; 92: soft on SMS; 95: both hard
SHARED_PHONE_EVERY = 50  # every 50th contact shares the number of the one before
NO_CONSENT = range(80, 90)  # no consent on record for either channel
# How the others agreed, by n % 5: the words they saw, where there were any.
DISCLOSURES = {
    "Website sign-up form": [
        "I agree to receive appointment reminders and offers from Demo Dental by text and "
        "call at the number above. Consent is not a condition of purchase.",
        "I agree to receive appointment reminders and offers from Demo Dental by text and "
        "automated call at the number above, up to 4 msgs/mo. Consent is not a condition of "
        "purchase. Msg & data rates may apply. Reply STOP to cancel, HELP for help.",
    ],
    "Paper form at the desk": [
        "Tick to receive reminders and offers from Demo Dental by text and phone call. "
        "Msg & data rates may apply. Reply STOP to cancel."
    ],
    "Text JOIN poster": [
        "Text JOIN to (415) 555-9999 for reminders and offers from Demo Dental, up to 4 "
        "msgs/mo. Msg & data rates may apply. Reply HELP for help, STOP to cancel."
    ],
}


def _values(rows: list[str]) -> str:
    return ", ".join(f"({i}, '{value}')" for i, value in enumerate(rows))


def _in(buckets: tuple[int, ...], n: str) -> str:
    """A condition for queries with parameters, where % is written %%."""
    return f"({n} %% 100) IN ({', '.join(map(str, buckets))})"


class Command(BaseCommand):
    help = "Load demo contacts (once) and create or update the demo users staff, admin, manager."

    def add_arguments(self, parser):
        parser.add_argument(
            "--contacts", type=int, default=300, help="How many contacts (default 300)."
        )

    def handle(self, *args, contacts: int, **options):
        if contacts < 2:
            raise CommandError("--contacts must be at least 2.")
        users = self._demo_users()
        existing = Contact.objects.count()
        if existing:
            self.stdout.write(f"Demo data: the database already has {existing} contacts; kept.")
        else:
            with transaction.atomic():
                self._contacts(contacts, by_user=users["admin"])
            planner.renew_statistics()
            self.stdout.write(f"Demo data: loaded {Contact.objects.count()} contacts.")
        names = ", ".join(f"{name} ({role})" for name, role in DEMO_USERS.items())
        self.stdout.write(f"Demo users (password “{settings.DEMO_PASSWORD}”): {names}")

    def _demo_users(self) -> dict:
        users = {}
        for username, role in DEMO_USERS.items():
            user, _ = get_user_model().objects.get_or_create(username=username)
            user.set_password(settings.DEMO_PASSWORD)
            # The Admin role may also use the Django admin for contacts.
            user.is_staff = role == ADMIN
            user.save()
            user.groups.set([Group.objects.get(name=role)])
            users[username] = user
        return users

    def _contacts(self, count: int, *, by_user) -> None:
        postgres = connection.vendor == "postgresql"
        if postgres:
            series = f"SELECT generate_series(1, {count}) AS n"
            created = "now() - make_interval(hours => n % 8760)"
        else:
            series = (
                f"WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {count})"
                " SELECT n FROM s"
            )
            # One moment for the consent and the contacts: SQLite's 'now' is each statement's.
            now = f"{timezone.now():%Y-%m-%d %H:%M:%S.%f}"
            created = f"strftime('%Y-%m-%d %H:%M:%f', '{now}', '-' || (n % 8760) || ' hours')"
        first, last, areas = len(FIRST_NAMES), len(LAST_NAMES), len(AREA_CODES)
        phone_key = f"(n - CASE WHEN n % {SHARED_PHONE_EVERY} = 0 THEN 1 ELSE 0 END)"
        # Names from a hash of n, so that they do not follow the id-based states and tags:
        # real names say nothing about who opted out, and the planner assumes as much. The
        # high 16 bits of Knuth's multiplicative hash: its low bits keep n's parity, which
        # the tags follow.
        name_key = "(((n * 2654435761) % 4294967296) / 65536)"
        with connection.cursor() as cursor:
            offset = _first_id(cursor) - 1
            numbered = f"""
                WITH seq AS ({series}),
                     first_names(i, name) AS (VALUES {_values(FIRST_NAMES)}),
                     last_names(i, name) AS (VALUES {_values(LAST_NAMES)}),
                     areas(i, code) AS (VALUES {_values(AREA_CODES)})
                SELECT {offset} + n AS id, n, f.name || ' ' || l.name AS name,
                       '+1' || a.code || CAST(2000000 + {phone_key} / {areas} AS TEXT) AS phone,
                       lower(f.name) || '.' || lower(l.name) || CAST(n AS TEXT) || '@example.com'
                           AS email,
                       CASE WHEN n % 40 = 7 THEN 'do_not_contact'
                            WHEN n % 40 = 13 THEN 'archived' ELSE 'active' END AS status,
                       {created} AS created_at
                FROM seq
                CROSS JOIN first_names f CROSS JOIN last_names l CROSS JOIN areas a
                WHERE f.i = {name_key} % {first} AND l.i = ({name_key} / {first}) % {last}
                  AND a.i = {phone_key} % {areas}
                """
            # Consent on record first, then the contacts it belongs to: the database works
            # out each contact's consent on record as the contact is added, where records
            # added after the contacts would rewrite each of them (bench/NOTES.md).
            self._consent(cursor, numbered, by_user)
            cursor.execute(
                f"""
                INSERT INTO contacts_contact
                    (id, name, phone, email, status, created_at, updated_at)
                SELECT id, name, phone, email, status, created_at, created_at FROM ({numbered}) c
                ORDER BY n
                """
            )
            _ids_taken(cursor, offset + count)
            n = f"(c.id - {offset})"
            for channel, buckets in ((Channel.SMS, SMS_SOFT), (Channel.CALLS, CALLS_SOFT)):
                bucket = (F("id") - offset) % 100
                in_buckets = Contact.objects.alias(bucket=bucket).filter(bucket__in=buckets)
                services.unsubscribe_many(contacts=in_buckets, channel=channel, by_user=by_user)
            now = connection.ops.adapt_datetimefield_value(timezone.now())
            for channel, buckets, source, words in (
                (Channel.SMS, SMS_HARD, "keyword", "STOP"),
                (Channel.CALLS, CALLS_HARD, "digit", ""),
            ):
                # The database writes the number's ledger row, stamped now, and carries the
                # opt-out to every contact with the number, with their ledger rows. The
                # opt-out is dated now too, as its ledger row and History say.
                hard_numbers = f"""
                    SELECT DISTINCT c.phone FROM contacts_contact c WHERE {_in(buckets, n)}"""
                cursor.execute(
                    f"""
                    INSERT INTO contacts_phoneoptout (phone, channel, opted_out_at, source, words)
                    SELECT h.phone, %s, %s, %s, %s FROM ({hard_numbers}) h
                    """,
                    [channel, now, source, words],
                )
            for name in TAGS + ["VIP"]:
                Tag.objects.get_or_create(name=name)
            cursor.execute(
                f"""
                INSERT INTO contacts_contact_tags (contact_id, tag_id)
                SELECT c.id, t.id FROM contacts_contact c
                JOIN contacts_tag t ON t.name = CASE {n} % {len(TAGS)}
                    {" ".join(f"WHEN {i} THEN '{name}'" for i, name in enumerate(TAGS))} END
                WHERE {n} % 10 < 6
                UNION ALL
                SELECT c.id, t.id FROM contacts_contact c JOIN contacts_tag t ON t.name = 'VIP'
                WHERE {n} % 23 = 0
                """
            )
        # The brief's own example, through the services as a user would do it.
        contact_a = services.create_contact(
            name="Contact A", phone="+1 415 555 0100", email="a@example.com", tags=["VIP"]
        )
        services.unsubscribe(contact=contact_a, channel=Channel.SMS, by_user=by_user)
        contact_b = services.create_contact(
            name="Contact B", phone="+1 415 555 0101", email="b@example.com", tags=["VIP"]
        )
        services.unsubscribe(contact=contact_b, channel=Channel.CALLS, by_user=by_user)
        for contact in (contact_a, contact_b):
            for channel in Channel:
                services.record_consent(
                    phone=contact.phone, channel=channel, method=ConsentMethod.PAPER,
                    given_at=contact.created_at, by_user=by_user, contact=contact,
                    disclosure=Disclosure.objects.get(title="Paper form at the desk"),
                )  # fmt: skip

    def _consent(self, cursor, numbered: str, by_user) -> None:
        """The disclosures, and consent on record for most of the contacts to be added
        (`numbered`), given when each was created: on a web form (either version of its
        words), on paper, by voice, in an import, or for texts by a reply JOIN after seeing
        the poster (calls, then, on paper).
        """
        versions = {}
        for title, texts in DISCLOSURES.items():
            for version, text in enumerate(texts, start=1):
                # Written before any demo contact was created (up to a year ago), as words
                # are written before anyone agrees to them.
                written = timezone.now() - timedelta(days=400 * (len(texts) - version + 1))
                disclosure = Disclosure.objects.create(
                    title=title, version=version, text=text, created_by=by_user,
                    created_at=written,
                )  # fmt: skip
                versions[title, version] = disclosure.pk
        web = (
            f"CASE WHEN c.n % 2 = 0 THEN {versions['Website sign-up form', 1]}"
            f" ELSE {versions['Website sign-up form', 2]} END"
        )
        paper, poster = versions["Paper form at the desk", 1], versions["Text JOIN poster", 1]
        keyword = "(c.n % 5 = 4 AND ch.channel = 'sms')"
        cursor.execute(
            f"""
            INSERT INTO contacts_consentrecord
                (phone, channel, method, given_at, contact_id, recorded_by_id, disclosure_id,
                 words, reference, status, confirmation, void_reason)
            SELECT c.phone, ch.channel,
                   CASE WHEN {keyword} THEN 'keyword' WHEN c.n % 5 = 4 THEN 'paper'
                        ELSE CASE c.n % 5 WHEN 0 THEN 'web_form' WHEN 1 THEN 'paper'
                             WHEN 2 THEN 'verbal' ELSE 'import' END END,
                   c.created_at, c.id, CASE WHEN {keyword} THEN NULL ELSE {int(by_user.pk)} END,
                   CASE WHEN {keyword} THEN {poster} WHEN c.n % 5 = 0 THEN {web}
                        WHEN c.n % 5 IN (1, 4) THEN {paper} END,
                   CASE WHEN {keyword} THEN 'JOIN' ELSE '' END, '', 'confirmed', '', ''
            FROM ({numbered}) c
            CROSS JOIN (SELECT 'sms' AS channel UNION ALL SELECT 'calls') ch
            WHERE NOT (c.n % 100 BETWEEN {NO_CONSENT.start} AND {NO_CONSENT.stop - 1})
            ORDER BY c.n, ch.channel
            """
        )


def _first_id(cursor) -> int:
    """The id the next contact added would get: the seed gives its contacts their ids, so
    that their consent records can name them before they are added."""
    if connection.vendor == "postgresql":
        cursor.execute("SELECT nextval(pg_get_serial_sequence('contacts_contact', 'id'))")
    else:
        cursor.execute(
            "SELECT COALESCE((SELECT seq FROM sqlite_sequence WHERE name = 'contacts_contact'),"
            " 0) + 1"
        )
    return cursor.fetchone()[0]


def _ids_taken(cursor, last: int) -> None:
    """Ids up to `last` are taken: the next contact added gets the one after (SQLite's
    sequence follows the ids written)."""
    if connection.vendor == "postgresql":
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('contacts_contact', 'id'), %s)", [last]
        )
