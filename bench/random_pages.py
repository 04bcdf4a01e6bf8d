"""The Contacts table under random filters, searches, sorts and pages (issue 22, goals 1 and 2).

Draws `--combinations` addresses of the table: each filter set or not (a tag, each channel's
status, the overall status), a search term taken from the data or not (a name, a surname, a
part of an e-mail, 3 to 10 digits of a number, a word that matches nothing), a sort, and the
first page or the page 20 Next clicks in. Each page is timed in turn with the stock admin
changelist, and reported as a ratio to it: the median, the 99th percentile and the worst, with
the worst's address; and the most statements any page took. The seed is printed, so that a bad
case can be replayed (`--seed`).

Run by bench/run.py, or alone on a database that has the demo data:
    DATABASE_URL=postgres://… .venv/bin/python bench/random_pages.py [--seed N]
"""

import argparse
import html
import random
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.run import medians_ms  # noqa: E402 (and the benchmark's settings, as make bench has them)

NEXT_CLICKS = 20
SORTS = ["name", "phone", "email", "status", "created_at"]


@dataclass
class Measured:
    address: str
    ms: float
    changelist_ms: float
    statements: int

    @property
    def ratio(self) -> float:
        return self.ms / self.changelist_ms


def search_terms(rng: random.Random) -> list[str]:
    """Words people would search for, taken from the data: a whole name, a first name or a
    surname, a part of an e-mail (email_part), digits of a number; and words that match
    nothing."""
    from django.db.models import Max

    from contacts.models import Contact

    last = Contact.objects.aggregate(Max("pk"))["pk__max"]
    ids = [rng.randint(1, last) for _ in range(60)]  # the same for the same seed and data
    sample = list(Contact.objects.filter(pk__in=ids).values_list("name", "email", "phone"))
    terms = []
    for name, email, phone in sample:
        words = name.split()
        digits = phone.lstrip("+")
        start = rng.randrange(0, max(len(digits) - 3, 1))
        terms += [
            name,
            rng.choice(words),
            words[-1],
            email_part(rng, email) if email else words[0],
            digits[start : start + rng.randint(3, 10)],
        ]
    return terms + ["zzqx", "Qwyxo", "xylophone", "00000000"]


def email_part(rng: random.Random, email: str) -> str:
    """The start of an e-mail's name, or now and then its domain: people look for a
    company's contacts by it, and in the demo data every contact has the same one."""
    name, _, domain = email.partition("@")
    return domain if rng.random() < 0.2 else name[: rng.randint(3, 8)]


def draw(rng: random.Random, terms: list[str]) -> dict[str, str]:
    from contacts.models import ChannelFilter, Contact, Tag

    query = {}
    if rng.random() < 0.3:
        query["tag"] = str(rng.choice(list(Tag.objects.values_list("pk", flat=True))))
    for channel in ("sms", "calls"):
        if rng.random() < 0.3:
            query[channel] = rng.choice(ChannelFilter.values)
    if rng.random() < 0.3:
        query["status"] = rng.choice(Contact.Status.values)
    if rng.random() < 0.6:
        query["q"] = rng.choice(terms)
    if rng.random() < 0.7:
        query["sort"] = rng.choice(["", "-"]) + rng.choice(SORTS)
    return query


NEXT_LINK = re.compile(r'<a href="([^"]*)" rel="next">')


def deep_address(client, query: dict[str, str]) -> str:
    """The address `NEXT_CLICKS` Next clicks past the first page of `query` (or as far as the
    pages go), as a user reaches it."""
    address = "/contacts/?" + urlencode(query)
    for _ in range(NEXT_CLICKS):
        link = NEXT_LINK.search(client.get(address).content.decode())
        if link is None:
            break
        address = html.unescape(link[1])
    return address


def measure(combinations: int, seed: int, runs: int = 3) -> list[Measured]:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    rng = random.Random(seed)
    users = get_user_model()
    root, _ = users.objects.get_or_create(
        username="bench-root", defaults={"is_superuser": True, "is_staff": True}
    )
    client, superuser = Client(), Client()
    client.force_login(users.objects.get(username="admin"))
    superuser.force_login(root)
    terms = search_terms(rng)
    measured = []
    for _ in range(combinations):
        query = draw(rng, terms)
        address = "/contacts/?" + urlencode(query)
        if rng.random() < 0.5:
            address = deep_address(client, query)
        page_ms, changelist_ms = medians_ms(
            [lambda a=address: client.get(a), lambda: superuser.get("/admin/contacts/contact/")],
            runs=runs,
        )
        with CaptureQueriesContext(connection) as statements:
            response = client.get(address)
        assert response.status_code == 200, (address, response.status_code)
        measured.append(Measured(address, page_ms, changelist_ms, len(statements)))
    return measured


def report(
    measured: list[Measured], seed: int, title: str = "14. Random pages", goal: float = 0.2
) -> list[tuple[str, str, str]]:
    """The lines of the table: what, the figure, the goal (`goal`: the worst page's ratio)."""
    ratios = sorted(m.ratio for m in measured)
    worst = max(measured, key=lambda m: m.ratio)
    most = max(measured, key=lambda m: m.statements)
    p99 = ratios[min(len(ratios) - 1, round(0.99 * (len(ratios) - 1)))]
    return [
        (f"{title}: {len(measured)} combinations, seed {seed}",
         f"median {statistics.median(ratios):.2f}×", "the admin changelist"),
        ("    99th percentile", f"{p99:.2f}×", ""),
        ("    worst", f"{worst.ratio:.2f}× ({worst.ms:.0f} ms)", f"≤ {goal}× the changelist"),
        (f"    its address: {worst.address}", "", ""),
        ("    most statements on a page", f"{most.statements}", "≤ 8"),
        (f"    its address: {most.address}", "", ""),
    ]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--combinations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--worst", type=int, default=10, help="list this many slowest pages")
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)

    import django

    django.setup()
    from django.core.management import call_command

    # As in production, and as bench/run.py does: DEBUG off, static files collected.
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.perf_counter()
    measured = measure(args.combinations, seed)
    for what, figure, goal in report(measured, seed):
        print(f"{what:58s} {figure:>22s}   {goal}")
    print(f"\n{args.worst} slowest, of {time.perf_counter() - started:.0f} s:")
    for m in sorted(measured, key=lambda m: -m.ratio)[: args.worst]:
        print(f"  {m.ratio:5.2f}× {m.ms:7.1f} ms {m.statements:3} statements  {m.address}")


if __name__ == "__main__":
    main()
