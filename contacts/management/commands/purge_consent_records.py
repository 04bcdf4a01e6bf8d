"""Delete the consent records kept longer than CONSENT_RETENTION_YEARS, of numbers no contact has
(contacts.models.consent_records_expired); the database refuses any younger than four years.
The consent ledger is append-only and stays."""

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction

from contacts.models import consent_records_expired


class Command(BaseCommand):
    help = (
        "Delete consent records older than CONSENT_RETENTION_YEARS of numbers no contact has. "
        "Run it now and then (monthly, say)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Count them and delete nothing.")

    def handle(self, *args, dry_run: bool, **options):
        years = settings.CONSENT_RETENTION_YEARS
        with transaction.atomic():
            expired = consent_records_expired(years)
            if dry_run:
                count = expired.count()
                self.stdout.write(
                    f"{count:,} consent records are older than {years} years and of numbers "
                    "no contact has; nothing deleted (--dry-run)."
                )
                return
            count, _ = expired.delete()
        self.stdout.write(
            f"{count:,} consent records older than {years} years, of numbers no contact has, "
            "deleted."
        )
