"""Time a CSV import as the worker runs it: a file of `--rows` rows, half of them contacts the
database has (updated) and half new ones (created), with emails, tags and opt-outs, is
stored, checked and applied; then the new contacts are deleted again.

Prints each step's seconds and the process's peak memory (VmHWM), which `bench/run.py`
reads. Runs against DATABASE_URL (PostgreSQL, with the demo contacts).
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
# As a deployed worker runs, and as bench/run.py runs this: with DEBUG on, Django keeps the
# last 9,000 statements, a batch's arrays of numbers among them, and the peak memory grows
# with the file.
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
os.environ.setdefault("TWILIO_AUTH_TOKEN", "bench-auth-token")


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def write_file(path: Path, rows: int) -> None:
    """Half known contacts (as exported: E.164 numbers, their names), half new ones."""
    import csv

    from contacts.models import Contact

    known = Contact.objects.order_by("id").values_list("name", "phone")[: rows // 2]
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["name", "phone", "email", "tags", "status", "sms", "calls"])
        for number, (name, phone) in enumerate(known.iterator(chunk_size=10_000)):
            sms = ("", "soft", "subscribed")[number % 3]
            writer.writerow([name, phone, "", "Imported", "", sms, ""])
        for number in range(rows - rows // 2):
            # Numbers of area code 949, which the demo data does not use.
            writer.writerow([
                f"Imported Person {number}", f"+1949{2_000_000 + number}",
                f"person{number}@example.com", "Imported, Spring fair", "active",
                "soft" if number % 10 == 0 else "", "hard" if number % 50 == 0 else "",
            ])  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.files import File

    from contacts import imports
    from contacts.models import Contact, ContactImport

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "contacts.csv"
        write_file(path, args.rows)
        size = path.stat().st_size
        base = peak_mb()
        started = time.perf_counter()
        with path.open("rb") as handle:
            contact_import = imports.store(File(handle, name=path.name), by_user=None)
        stored = time.perf_counter()
        imports.check(contact_import)
        checked = time.perf_counter()
        assert contact_import.status == ContactImport.Status.READY, contact_import.error
        # What the import's page counts before it is applied: not part of the import's time.
        imports.preview(contact_import)
        imports.first_rows(contact_import)
        previewed = time.perf_counter()
        imports.start_applying(contact_import)
        imports.apply(contact_import)
        applied = time.perf_counter()
    contact_import.refresh_from_db()
    print(f"file: {args.rows} rows, {size / 1024 / 1024:.1f} MB")
    print(f"stored: {stored - started:.2f} s")
    print(f"checked: {checked - stored:.2f} s")
    print(f"preview: {previewed - checked:.2f} s")
    print(f"applied: {applied - previewed:.2f} s")
    print(f"total: {applied - previewed + checked - started:.2f} s")
    print(f"memory: {peak_mb():.0f} MB peak ({base:.0f} MB before the import)")
    print(f"result: {contact_import.summary()}")
    Contact.objects.filter(phone__startswith="+1949").delete()
    ContactImport.objects.filter(pk=contact_import.pk).delete()


if __name__ == "__main__":
    main()
