from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contacts import imports


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
            data = file.read_bytes()
        except OSError as error:
            raise CommandError(f"Cannot read {file}: {error.strerror}.") from None
        try:
            plan = imports.read(data)
        except imports.ImportFileError as error:
            raise CommandError(str(error)) from None
        if plan.ignored_columns:
            self.stdout.write(f"Ignored columns: {', '.join(plan.ignored_columns)}.")
        if plan.problems:
            for problem in plan.problems:
                self.stderr.write(f"Row {problem.row}, {problem.column}: {problem.reason}")
            raise CommandError(f"{len(plan.problems)} problems: nothing was imported.")
        result = imports.apply(plan, by_user=by_user, file_name=file.name)
        for problem in result.kept_hard:
            self.stdout.write(f"Row {problem.row}, {problem.column}: {problem.reason}")
        self.stdout.write(f"Imported {file.name}: {result.summary()}")
