"""Recompute the consent ledger's hash chain (contacts.chain) and name the first row that does
not match; exit 1 if any does."""

from django.core.management.base import BaseCommand, CommandError

from contacts import chain


class Command(BaseCommand):
    help = "Check that no row of the consent ledger changed or went missing since it was written."

    def handle(self, *args, **options):
        result = chain.verify()
        checked = result.rows - result.before_the_chain
        summary = f"{result.rows:,} ledger rows read, {checked:,} checked against their hashes"
        if result.before_the_chain:
            summary += f" ({result.before_the_chain:,} written before the chain began)"
        if result.forked:
            summary += (
                f"; {result.forked:,} were written at the same moment as another row of their "
                "number, and follow the same row: the deletion of one of those would not be "
                "seen, so keep this output to compare with"
            )
        if result.findings:
            others = len(result.findings) - 1
            more = f"; {others:,} more do not match" if others else ""
            raise CommandError(f"{summary}. {result.first}{more}.")
        self.stdout.write(f"{summary}: every one matches.")
