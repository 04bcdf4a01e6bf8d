"""The reassigned numbers check: an Admin asks, for a selection of contacts, whether their
numbers were permanently disconnected (and so may have been reassigned) since their holders were
last known to have them, as the FCC's Reassigned Numbers Database answers it through the
provider (contacts.signals.reassigned_asked). A number that was is reported reassigned
(services.record_reassigned): its consent is void and broadcasts leave it out until consent
given since is recorded."""

from dataclasses import dataclass, field
from datetime import date

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import Min, QuerySet
from django.utils import timezone
from django.utils.formats import date_format

from contacts import services
from contacts.models import (
    VALID_PHONE,
    ConsentRecord,
    Contact,
    ReassignedNumber,
    reported_reassigned,
)
from contacts.signals import reassigned_asked

YES, NO, NO_DATA = "yes", "no", "no_data"  # the database's answers


class CheckRefused(Exception):
    """The check cannot be run on these contacts: the reason, for the user."""


@dataclass
class Checked:
    """What a check found: the numbers reported reassigned, how many were not, how many the
    database has no data on, and those the provider could not answer for."""

    reassigned: list[str] = field(default_factory=list)
    not_reassigned: int = 0
    no_data: int = 0
    failed: list[str] = field(default_factory=list)
    already: int = 0

    def __str__(self) -> str:
        asked = len(self.reassigned) + self.not_reassigned + self.no_data + len(self.failed)
        found = [
            f"{len(self.reassigned)} disconnected since their consent (reported reassigned: "
            "their consent is void, and broadcasts leave them out)",
            f"{self.not_reassigned} not",
            f"{self.no_data} with no data",
        ]
        if self.failed:
            found.append(f"{len(self.failed)} not answered (try them again later)")
        said = f"Reassigned numbers check of {asked} number{'s' * (asked != 1)}: "
        said += "; ".join(found) + "."
        if self.already:
            said += f" {self.already} already reported reassigned, not asked again."
        return said


def last_known(contacts: QuerySet[Contact]) -> dict[str, date]:
    """Each valid number of `contacts`, with the day (in TIME_ZONE) its holder was last known to
    have it, which the database is asked about: the day of its newest consent on record, else
    the day its first contact was added."""
    added = dict(
        contacts.filter(phone__regex=VALID_PHONE)
        .order_by()
        .values("phone")
        .annotate(first=Min("created_at"))
        .values_list("phone", "first")
    )
    consented = ConsentRecord.objects.filter(
        phone__in=list(added), status=ConsentRecord.Status.CONFIRMED
    ).order_by("phone", "given_at")
    known = {phone: timezone.localdate(at) for phone, at in added.items()}
    for phone, given_at in consented.values_list("phone", "given_at"):
        known[phone] = timezone.localdate(given_at)  # the newest, last
    return known


def check(contacts: QuerySet[Contact], *, by_user: AbstractBaseUser) -> Checked:
    """Ask about the numbers of `contacts`, and report those the database says were
    disconnected; CheckRefused when there are too many, or none, or no provider answers."""
    limit = settings.REASSIGNED_CHECK_LIMIT
    valid = contacts.filter(phone__regex=VALID_PHONE).order_by().values("phone").distinct()
    if valid[limit : limit + 1].exists():  # counted no further than the limit
        raise CheckRefused(
            f"These contacts have more than {limit:,} numbers; a check asks about {limit:,} at "
            "most (the provider answers, and charges for, each one). Select fewer."
        )
    numbers = last_known(contacts)
    if not numbers:
        raise CheckRefused("None of these contacts has a valid phone number to check.")
    checked = Checked()
    # Already out of broadcasts until consent given since is recorded: not asked (nor paid for).
    reported = reported_reassigned().filter(phone__in=list(numbers))
    for phone in set(reported.values_list("phone", flat=True)):
        del numbers[phone]
        checked.already += 1
    answers: dict[str, str] = {}
    for _, found in reassigned_asked.send(Contact, numbers=numbers):
        answers.update(found or {})
    if numbers and not answers:
        raise CheckRefused("No messaging provider answers reassigned numbers checks here.")
    for phone, since in numbers.items():
        answer = answers.get(phone, "error: no answer")
        if answer == YES:
            services.record_reassigned(
                phone=phone, how=ReassignedNumber.How.CHECK, by_user=by_user,
                words=f"disconnected since {date_format(since, 'j M Y')}, the reassigned numbers "
                "database answered",
            )  # fmt: skip
            checked.reassigned.append(phone)
        elif answer == NO:
            checked.not_reassigned += 1
        elif answer == NO_DATA:
            checked.no_data += 1
        else:
            checked.failed.append(phone)
    return checked
