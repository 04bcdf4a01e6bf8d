"""Write the evidence file of a phone number (contacts.evidence): JSON, or the page as HTML."""

import json
from pathlib import Path

from django.contrib.staticfiles import finders
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django.template.loader import render_to_string

from contacts import evidence
from contacts.phones import number_to_keep


class Command(BaseCommand):
    help = (
        "Write a phone number's consent evidence: every consent, opt-out, ledger row and message."
    )

    def add_arguments(self, parser):
        parser.add_argument("--phone", required=True, help="The number, in any common format.")
        parser.add_argument("--format", choices=["json", "html"], default="json")
        parser.add_argument("--output", help="A file to write (default: the standard output).")

    def handle(self, *args, phone: str, format: str, output: str | None, **options):
        try:
            phone = number_to_keep(phone)
        except ValidationError as error:
            raise CommandError(f"--phone {phone!r}: {' '.join(error.messages)}") from None
        data = evidence.for_number(phone)
        if format == "json":
            text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        else:
            css = Path(finders.find("css/evidence.css")).read_text(encoding="utf-8")
            text = render_to_string("contacts/evidence_file.html", {"evidence": data, "css": css})
        if output:
            with open(output, "w", encoding="utf-8") as file:
                file.write(text)
            self.stderr.write(f"Evidence of {data['number_display']} written to {output}.")
        else:
            self.stdout.write(text, ending="")
