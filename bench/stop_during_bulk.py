"""Benchmark (not a test): how long a STOP waits while a bulk job runs, and how long the job takes.

    .venv/bin/python bench/stop_during_bulk.py --database /tmp/seeded.sqlite3 --pause 0 0.15
    DATABASE_URL=postgres://… .venv/bin/python bench/stop_during_bulk.py --template seeded

For each setting, a fresh copy of the seeded database (SQLite: of the file given; PostgreSQL:
a database made from the template given), migrated; on it, the job (soft SMS opt-outs of
every contact, `contacts.bulk.run`) in a `manage.py shell`, and in another, STOPs from
numbers no contact has, at random moments (0 to 0.2 s apart), each stored and then processed
as `messaging.views` does. Prints how long the job took and how long the STOPs waited.
`--pause`: the longest pause between two transactions of the job on SQLite
(`crm.transactions.SQLITE_MOST_PAUSE`); `--batch`: `BULK_BATCH_SIZE`, 0 for all contacts in
one transaction (as before issue 18).
"""

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

JOB = """
import sys, time
from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
import crm.transactions
from contacts import bulk
from contacts.models import BulkJob, Contact
crm.transactions.SQLITE_MOST_PAUSE = {pause}
settings.BULK_BATCH_SIZE = {batch} or 10**9
job = BulkJob.objects.create(action="unsubscribe_sms", query="", count=Contact.objects.count(),
                             by_user=User.objects.get(username="admin"))
print("ready", flush=True)
sys.stdin.readline()
started = time.perf_counter()
bulk.run(job.pk)
print("took", time.perf_counter() - started, BulkJob.objects.get().result, flush=True)
"""


def fresh_database(args, run: int) -> str:
    """A copy of the seeded database; its DATABASE_URL."""
    if args.database:
        copy = Path(tempfile.gettempdir()) / f"stop-during-bulk-{os.getpid()}-{run}.sqlite3"
        shutil.copy(args.database, copy)
        return f"sqlite:///{copy}"
    import psycopg

    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    name = f"stop_during_bulk_{os.getpid()}_{run}"
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{args.template}"')
    return f"{base}/{name}"


STOPS = """
import json, os, random, sys, time
from django.db import OperationalError
from contacts.models import BulkJob
from messaging import inbound
from messaging.models import InboundEvent
print("ready", flush=True)
sys.stdin.readline()
time.sleep(1)  # the job is under way
waits, number, lost = [], 0, 0
while BulkJob.objects.filter(status__in=["queued", "running"]).exists():
    number += 1
    key = f"sms:SMbench{number:08d}"
    phone = f"+1212555{number % 10000:04d}"
    started = time.perf_counter()
    try:
        InboundEvent.store(key=key, kind="sms", phone=phone,
                           payload={"From": phone, "Body": "STOP", "MessageSid": key[4:]})
        inbound.process(key)
    except OperationalError:  # "database is locked": the webhook's 500, the STOP lost
        lost += 1
    waits.append(time.perf_counter() - started)
    time.sleep(random.uniform(0, 0.2))  # arriving at any moment of a batch or a pause
print(json.dumps([waits, lost]), flush=True)
"""


def drop(url: str) -> None:
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).unlink()
        return
    import psycopg

    base, name = url.rsplit("/", 1)
    with psycopg.connect(f"{base}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}"')


def measure(url: str, pause: float, batch: int) -> tuple[float, list[float], int]:
    env = os.environ | {"DATABASE_URL": url}
    subprocess.run([sys.executable, "manage.py", "migrate", "-v0"], env=env, cwd=ROOT, check=True)
    job, stops = (
        subprocess.Popen(
            [sys.executable, "manage.py", "shell", "-c", script],
            env=env,
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )  # fmt: skip
        for script in (JOB.format(pause=pause, batch=batch), STOPS)
    )
    for process in (job, stops):
        while process.stdout.readline().strip() != "ready":
            pass
    for process in (job, stops):
        process.stdin.write("go\n")
        process.stdin.flush()
    took = job.stdout.read().split("took ")[-1].split()[0]
    waits, lost = json.loads(stops.stdout.read().strip().splitlines()[-1])
    job.wait()
    stops.wait()
    return float(took), waits, lost


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database", help="a seeded SQLite file, copied for each run")
    parser.add_argument("--template", help="a seeded PostgreSQL database, copied for each run")
    parser.add_argument("--pause", type=float, nargs="+", default=[0.15])
    parser.add_argument("--batch", type=int, nargs="+", default=[5000])
    parser.add_argument("--rounds", type=int, default=1)
    args = parser.parse_args()
    run = 0
    for _ in range(args.rounds):
        for batch in args.batch:
            for pause in args.pause:
                run += 1
                url = fresh_database(args, run)
                took, waits, lost = measure(url, pause, batch)
                waits.sort()
                print(
                    f"batch {batch or 'all':>6} pause {pause:.2f} s: job {took:6.1f} s; "
                    f"{len(waits)} STOPs, wait median {statistics.median(waits) * 1000:.0f} ms, "
                    f"p90 {waits[int(len(waits) * 0.9)] * 1000:.0f} ms, "
                    f"p99 {waits[int(len(waits) * 0.99)] * 1000:.0f} ms, "
                    f"max {waits[-1] * 1000:.0f} ms; over 1 s: {sum(w > 1 for w in waits)}; "
                    f"failed (database is locked): {lost}",
                    flush=True,
                )
                drop(url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
