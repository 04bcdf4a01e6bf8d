from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from contacts import imports
from contacts.models import ContactImport, ImportProblem


class Command(BaseCommand):
    help = (
        "Import contacts from a CSV file (see contacts/imports.py for the columns). Every row "
        "is checked first; if any has a problem, nothing is imported."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--user", help="Record soft opt-outs as made by this user.")

    def handle(self, *args, file: Path, user: str | None, **options):
        by_user = None
        if user:
            by_user = get_user_model().objects.filter(username=user).first()
            if by_user is None:
                raise CommandError(f"There is no user “{user}”.")
        try:
            with file.open("rb") as handle:
                contact_import = imports.store(File(handle, name=file.name), by_user=by_user)
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        except imports.ImportFileError as error:
            raise CommandError(str(error)) from None
        if contact_import.status == ContactImport.Status.MATCHING:
            header = [column for column, _ in imports.sample(contact_import, rows=0)]
            contact_import.delete()
            if unsure := imports.unsure_columns(header):
                raise CommandError(
                    f"These columns may say whether a contact may be texted or called: "
                    f"{', '.join(unsure)}. Rename each to the field it holds: sms or calls "
                    "for a column of opt-ins (yes = subscribed); do not text, do not call or "
                    "do not contact for a list of opt-outs (yes = opted out, the contact's "
                    "own); or remove it, or upload the file on the Import page to match the "
                    "columns."
                )
            raise CommandError(
                "The header row does not name a name and a phone column, or names one twice: "
                "rename the columns, or upload the file on the Import page to match them."
            )
        imports.check(contact_import)
        if contact_import.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(contact_import.ignored_columns)}.")
        if contact_import.status == ContactImport.Status.UNREADABLE:
            raise CommandError(contact_import.error)
        problems = ImportProblem.objects.filter(contact_import=contact_import)
        if contact_import.problem_count:
            for problem in problems.iterator():
                self.stderr.write(f"Row {problem.row}, {problem.column}: {problem.reason}")
            raise CommandError(f"{contact_import.problem_count} problems: nothing was imported.")
        imports.start_applying(contact_import)
        imports.apply(contact_import)
        contact_import.refresh_from_db()
        for problem in problems.filter(kept_hard=True).iterator():
            self.stdout.write(f"Row {problem.row}, {problem.column}: {problem.reason}")
        self.stdout.write(f"Imported {file.name}: {contact_import.summary()}")
