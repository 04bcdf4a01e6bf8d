"""The embedded default (issue 22, goal 8): on a fresh SQLite file, `seed_demo --contacts
100000` and the Contacts table under random filters, searches, sorts and pages, each timed in
turn with the stock admin changelist (bench/random_pages.py).

Run by bench/run.py (line 15), which reads what it prints, or alone:
    .venv/bin/python bench/sqlite.py [--contacts 100000] [--seed N] [--combinations 200]
"""

import argparse
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
DIRECTORY = tempfile.mkdtemp(prefix="crm-bench-sqlite-")
# Before the benchmark's settings are read: this process runs on its own SQLite file.
os.environ["DATABASE_URL"] = f"sqlite:///{DIRECTORY}/bench.sqlite3"

from bench import random_pages  # noqa: E402 (the settings of bench/run.py)
from bench.run import ROOT  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--combinations", type=int, default=200)
    parser.add_argument("--seed", type=int, default=None)
    args = parser.parse_args()
    seed = args.seed if args.seed is not None else random.randrange(1_000_000)

    import django

    django.setup()
    os.chdir(ROOT)
    try:
        measure(args.contacts, args.combinations, seed)
    finally:
        shutil.rmtree(DIRECTORY)


def measure(contacts: int, combinations: int, seed: int) -> None:
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    started = time.perf_counter()
    call_command("seed_demo", contacts=contacts, verbosity=0)
    seconds = time.perf_counter() - started
    lines = [(f"15. SQLite: seed_demo --contacts {contacts}", f"{seconds:.1f} s", "≤ 30 s")]
    measured = random_pages.measure(combinations, seed)
    lines += random_pages.report(measured, seed, title="    SQLite: random pages", goal=0.3)
    # Tab-separated, for bench/run.py.
    for line in lines:
        print("\t".join(line), flush=True)


if __name__ == "__main__":
    main()
