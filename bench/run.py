"""The benchmark: the hot paths at 1,000,000 contacts on PostgreSQL (`make bench`).

Builds (or reuses) a database of `--contacts` demo contacts, measures each path as medians
over repeated runs, prints a table with the targets of issue 6, and writes it to
bench/latest.txt. Not part of `make test`; no figure here is asserted.
"""

import argparse
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import time_machine

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1")
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("SECRET_KEY", "bench-" + "x" * 60)
os.environ.setdefault("TWILIO_AUTH_TOKEN", "bench-auth-token")  # DEBUG is off: required
os.environ.setdefault("SECURE_SSL_REDIRECT", "0")
os.environ.setdefault("STATIC_ROOT", "/tmp/crm-bench-static")

RESULTS: list[tuple[str, str, str]] = []


def record(what: str, figure: str, target: str = "") -> None:
    RESULTS.append((what, figure, target))
    print(f"{what:58s} {figure:>22s}   {target}", flush=True)


def settle() -> None:
    """Vacuum, analyze and checkpoint now, so that a measurement does not share the cores
    with the autovacuum or the checkpoint of what the one before it wrote (a million contacts
    after the seeding, 845,000 recipients after a send)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
        cursor.execute("CHECKPOINT")


def median_ms(function, runs: int = 15) -> float:
    return medians_ms([function], runs)[0]


def medians_ms(functions: list, runs: int = 15) -> list[float]:
    """The median time of each function, timed in turn so that each one meets the machine at
    the same speed: a comparison of two of them holds even while the speed drifts."""
    for function in functions:
        function()  # warm up
    times = [[] for _ in functions]
    for _ in range(runs):
        for function, its_times in zip(functions, times, strict=True):
            started = time.perf_counter()
            function()
            its_times.append((time.perf_counter() - started) * 1000)
    return [statistics.median(its_times) for its_times in times]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--send-seconds", type=float, default=10)
    parser.add_argument("--pages-seed", type=int, help="replay line 14's random pages")
    args = parser.parse_args()

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    if connection.vendor != "postgresql":
        raise SystemExit("The benchmark runs on PostgreSQL: set DATABASE_URL or use make bench.")
    call_command("migrate", verbosity=0)
    # As in production: DEBUG off, static files collected.
    call_command("collectstatic", interactive=False, verbosity=0)
    from contacts.models import Contact

    if Contact.objects.count() < args.contacts:
        started = time.perf_counter()
        call_command("seed_demo", contacts=args.contacts, verbosity=0)
        record("seed_demo", f"{time.perf_counter() - started:.0f} s", "about a minute")
    settle()
    print(f"{Contact.objects.count():,} contacts\n")
    measure_pages()
    measure_random_pages(args.pages_seed)
    measure_broadcasts(args.send_seconds)
    settle()
    measure_insights()
    settle()
    measure_import()
    settle()
    measure_export()
    settle()
    measure_stop_webhook()
    settle()
    measure_bulk_actions()
    measure_sqlite(args.pages_seed)
    write_results()


def measure_pages() -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from contacts.models import Contact, Tag
    from contacts.paging import _encode

    user_model = get_user_model()
    admin = user_model.objects.get(username="admin")
    root, _ = user_model.objects.get_or_create(
        username="bench-root", defaults={"is_superuser": True, "is_staff": True}
    )
    client, superuser = Client(), Client()
    client.force_login(admin)
    superuser.force_login(root)

    def page(url: str, as_client=client):
        return lambda: as_client.get(url)

    tag = Tag.objects.get(name="Leads")
    # Page 10,000 by Next links: the keys of the last row of page 9,999 (found by OFFSET once,
    # untimed), as the Next link of that page carries them.
    last = Contact.objects.order_by("name", "id").values_list("name", "id")[9_999 * 50 - 1]
    deep = f"/contacts/?after={_encode(list(last))}&page=10000"
    pages = [
        ("2. Filter: SMS hard opt-outs", "/contacts/?sms=hard"),
        ("   Filter: Calls soft opt-outs", "/contacts/?calls=soft"),
        ("   Filter: one tag", f"/contacts/?tag={tag.pk}"),
        ("3. Search: phone prefix (201) 200", "/contacts/?q=%28201%29+200"),
        ("   Search: name prefix Aish", "/contacts/?q=Aish"),
        # Its matches start 825,000 rows along the name order; Aisha's, at the start.
        ("   Search: name prefix Sofia", "/contacts/?q=Sofia"),
        ("4. Deep page: page 10,000 (keyset)", deep),
    ]
    table, changelist = medians_ms(
        [page("/contacts/"), page("/admin/contacts/contact/", superuser)]
    )
    record("1. Contacts table, first page (50 rows)", f"{table:.1f} ms", "≤ 15 ms")
    record("   stock admin changelist, same data", f"{changelist:.1f} ms",
           f"ratio {changelist / table:.1f}× (≥ 5×)")  # fmt: skip
    # These in turn too: one page's 15 runs alone take under half a second, so that a slow
    # second of the machine could set its median; in turn, each page's runs spread over the
    # whole measurement, and none follows a run of itself, with its rows still in the caches.
    medians = medians_ms([page(url) for _, url in pages])
    for (label, _), median in zip(pages, medians, strict=True):
        record(label, f"{median:.1f} ms", "≤ 25 ms")
    counts = []
    for per_page in (25, 100):
        with CaptureQueriesContext(connection) as queries:
            client.get(f"/contacts/?per_page={per_page}")
        counts.append(len(queries))
    record("5. Queries per page at 25 and at 100 rows", f"{counts[0]} and {counts[1]}",
           "the same, ≤ 8")  # fmt: skip
    measure_admin_change_page(superuser, admin)


def measure_insights() -> None:
    """Line 16: the Insights page as the worker's counts leave it, in turn with the admin
    changelist, and the worker's count itself (after line 6-9's broadcast: its outcome is
    counted too)."""
    from django.contrib.auth import get_user_model
    from django.test import Client

    from broadcasts import insights

    started = time.perf_counter()
    insights.count_reach()
    insights.count_outcomes()
    counted = time.perf_counter() - started
    users = get_user_model().objects
    manager, root = Client(), Client()
    manager.force_login(users.get(username="manager"))
    root.force_login(users.get(username="bench-root"))
    page, changelist = medians_ms(
        [lambda: manager.get("/broadcasts/insights/"), lambda: root.get("/admin/contacts/contact/")]
    )
    record("16. Insights page", f"{page:.1f} ms",
           f"≤ 300 ms; ratio {page / changelist:.2f}× the changelist")  # fmt: skip
    record("    the worker's count of reach and outcomes", f"{counted:.1f} s",
           "every REACH_COUNT_SECONDS")  # fmt: skip


def measure_random_pages(seed: int | None) -> None:
    """Line 14: the Contacts table under 200 random filters, searches, sorts and pages."""
    import random

    from bench import random_pages

    seed = random.randrange(1_000_000) if seed is None else seed
    for line in random_pages.report(random_pages.measure(200, seed), seed):
        record(*line)


def measure_admin_change_page(superuser, by_user) -> None:
    """The admin's change page of a contact with 2,000 ledger entries, in turn with the
    changelist, and its statements."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from contacts import services
    from contacts.models import Channel, Contact

    contact = Contact.objects.order_by("pk").first()
    for _ in range(1000):
        services.unsubscribe(contact=contact, channel=Channel.SMS, by_user=by_user)
        services.resubscribe(contact=contact, channel=Channel.SMS, by_user=by_user)
    url = f"/admin/contacts/contact/{contact.pk}/change/"
    change, changelist = medians_ms(
        [lambda: superuser.get(url), lambda: superuser.get("/admin/contacts/contact/")]
    )
    with CaptureQueriesContext(connection) as queries:
        superuser.get(url)
    record("12. Admin change page, 2,000 ledger entries", f"{change:.1f} ms",
           f"ratio {change / changelist:.1f}× the changelist (≤ 2×)")  # fmt: skip
    record("    its statements", f"{len(queries)}", "≤ 8")


def measure_broadcasts(send_seconds: float) -> None:
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from broadcasts import services
    from broadcasts.models import Broadcast

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    broadcast = Broadcast.objects.create(name="Bench", channel="sms", body="Hello")
    # Every rule on (quiet hours, frequency limits, reviews), at three moments: an afternoon,
    # when every demo number is in its window; an evening, when Florida's are not; and late
    # in the evening, when about half of them are closed, the most the preview reads.
    time_previews(broadcast, [
        ("6. Broadcast preview, SMS to everyone", AFTERNOON),
        ("   the same at 20:30 Eastern (Florida deferred)", EVENING),
        ("   the same at 22:30 Eastern (half deferred)", LATE_EVENING),
    ])  # fmt: skip
    # Other audiences and the other channel (issue 22's goal 3), in the afternoon, and some
    # late in the evening too, when half their numbers are closed.
    for audience, label, late in audiences():
        other = Broadcast.objects.create(
            name="Bench", channel="calls", script="Hello", audience=audience
        )
        moments = [(f"   voice to {label}", AFTERNOON)]
        if late:
            moments.append(("   the same at 22:30 Eastern", LATE_EVENING))
        time_previews(other, moments)
        other.delete()
    # Again once the frequency limits have a day of messages to count.
    earlier = a_day_of_sends()
    settle()
    time_previews(broadcast, [
        ("   the same at 15:00 after a day's 2 texts to everyone", AFTERNOON),
        ("   the same at 22:30 after them", LATE_EVENING),
    ])  # fmt: skip
    forget(earlier)
    settle()
    manager = get_user_model().objects.get(username="manager")
    started = time.perf_counter()
    with time_machine.travel(AFTERNOON, tick=True):
        services.launch(broadcast=broadcast, by_user=manager)
    elapsed = time.perf_counter() - started
    recipients = broadcast.recipients.count()
    record(f"7. Launch snapshot ({recipients:,} recipients)",
           f"{recipients / elapsed:,.0f} rows/s", "≥ 200,000 rows/s")  # fmt: skip
    for workers in (1, 2):
        settle()
        rate, peak = send_with_workers(broadcast.pk, workers, send_seconds)
        record(f"8. Send path, locmem, {workers} worker{'s' if workers > 1 else ''}",
               f"{rate:,.0f} recipients/s", "≥ 10,000 a worker")  # fmt: skip
        record(f"9. Worker peak memory, {workers} worker{'s' if workers > 1 else ''}",
               f"{peak:.0f} MB", "flat, < 200 MB")  # fmt: skip
    services.cancel(broadcast=broadcast)


def audiences() -> list[tuple[str, str, bool]]:
    """The audiences of voice broadcasts timed, each with whether late in the evening too:
    everyone; the demo's largest tag; a search; both; the tag's contacts subscribed to SMS;
    and a filter that leaves nearly everyone."""
    tag = largest_tag()
    return [
        ("", "everyone", True),
        (f"tag={tag.pk}", f"a tag ({tag.n:,} contacts)", True),
        ("q=Sofia", "a search (Sofia)", False),
        (f"tag={tag.pk}&q=Sofia", "the tag and the search", False),
        (f"tag={tag.pk}&sms=subscribed", "the tag, subscribed to SMS", False),
        ("status=active", "the active contacts (nearly everyone)", True),
    ]


def largest_tag():
    """The demo tag with the most contacts (their number as `n`)."""
    from django.db.models import Count

    from contacts.models import Tag

    return Tag.objects.annotate(n=Count("contacts")).order_by("-n", "pk").first()


def time_previews(broadcast, moments: list[tuple[str, datetime]]) -> None:
    from broadcasts import services

    for label, moment in moments:
        with time_machine.travel(moment, tick=True):
            preview = median_ms(lambda: services.preview(broadcast), runs=3)
        record(label, f"{preview:.0f} ms", "≤ 300 ms")


def a_day_of_sends() -> list[int]:
    """Two marketing texts to every active contact's number, handed over at 10:00 and 14:00
    Eastern on the benchmark's day, as a business that texts twice a day has sent: what the
    frequency limits count at the next preview."""
    from django.db import connection

    from broadcasts.models import Broadcast

    earlier = []
    for hour in (10, 14):
        moment = AFTERNOON.replace(hour=hour)
        broadcast = Broadcast.objects.create(
            name=f"Sent at {hour}:00", channel="sms", body="Hello", status="done",
            launched_at=moment, finished_at=moment,
        )  # fmt: skip
        with connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO broadcasts_recipient (broadcast_id, contact_id, phone, status,"
                " attempts, sent_at, sid, error)"
                " SELECT DISTINCT ON (phone) %s, id, phone, 'sent', 1, %s, 'SM' || id, ''"
                " FROM contacts_contact WHERE status = 'active' ORDER BY phone, id",
                [broadcast.pk, moment],
            )
        earlier.append(broadcast.pk)
    return earlier


def forget(broadcast_ids: list[int]) -> None:
    from django.db import connection

    from broadcasts.models import Broadcast

    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM broadcasts_recipient WHERE broadcast_id = ANY(%s)", [broadcast_ids]
        )
    Broadcast.objects.filter(pk__in=broadcast_ids).delete()


# A weekday afternoon in every demo number's window (Hawaii's opens at 13:00 Eastern).
AFTERNOON = datetime(2026, 12, 8, 15, 0, tzinfo=ZoneInfo("America/New_York"))
EVENING = datetime(2026, 12, 8, 20, 30, tzinfo=ZoneInfo("America/New_York"))
LATE_EVENING = datetime(2026, 12, 8, 22, 30, tzinfo=ZoneInfo("America/New_York"))
# Sending with every rule on, in that afternoon.
SENDER = f"""
import sys, django, time_machine
from datetime import datetime
django.setup()
from broadcasts import sending
with time_machine.travel(datetime.fromisoformat("{AFTERNOON.isoformat()}"), tick=True):
    sending.run(int(sys.argv[1]))
"""


def send_with_workers(broadcast_id: int, workers: int, seconds: float) -> tuple[float, float]:
    """Recipients sent per second by `workers` processes in `seconds`, and their peak RSS."""
    from broadcasts.models import Recipient, SendRate

    env = os.environ | {"MESSAGING_BACKEND": "locmem", "BROADCAST_RATE": "1000000000"}
    sent = Recipient.objects.filter(broadcast_id=broadcast_id, status="sent")
    # Each run's workers start at the same moment of the afternoon: the slots the run before
    # reserved, later in it, would otherwise hold them back.
    SendRate.objects.all().delete()
    processes = [
        subprocess.Popen([sys.executable, "-c", SENDER, str(broadcast_id)], env=env, cwd=ROOT)
        for _ in range(workers)
    ]
    time.sleep(2)  # start-up
    start_count, started = sent.count(), time.perf_counter()
    peak = 0.0
    while time.perf_counter() - started < seconds:
        time.sleep(0.5)
        peak = max(peak, *(_rss_mb(p.pid) for p in processes))
    rate = (sent.count() - start_count) / (time.perf_counter() - started)
    for process in processes:
        process.kill()
        process.wait()
    # Rows left "sending" by the killed workers go back to pending for the next run.
    Recipient.objects.filter(broadcast_id=broadcast_id, status="sending").update(status="pending")
    return rate, peak


EXPORTER = """
import resource, sys, time, django
django.setup()
from contacts import bulk
started = time.perf_counter()
bulk.run(int(sys.argv[1]))
print(time.perf_counter() - started, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def measure_export() -> None:
    """An export of every contact, as the task writes it (in a process of its own, for its
    memory)."""
    from django.contrib.auth import get_user_model

    from contacts.models import BulkJob, Contact

    admin = get_user_model().objects.get(username="admin")
    job = BulkJob.objects.create(action="export", by_user=admin, count=Contact.objects.count())
    run = subprocess.run([sys.executable, "-c", EXPORTER, str(job.pk)], cwd=ROOT, env=os.environ,
                         capture_output=True, text=True, check=True)  # fmt: skip
    seconds, peak = map(float, run.stdout.split())
    job.refresh_from_db()
    record(f"13. Export of {job.done:,} contacts, as a task", f"{job.done / seconds:,.0f} rows/s",
           "≥ 100,000 rows/s")  # fmt: skip
    record("    the task's memory", f"{peak:.0f} MB peak", "flat, < 200 MB")
    job.delete()


def _rss_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def measure_import(rows: int = 100_000) -> None:
    """bench/import_file.py in a process of its own, as the worker runs an import: its time
    and its peak memory."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "import_file.py"), "--rows", str(rows)],
        cwd=ROOT, capture_output=True, text=True,
    )  # fmt: skip
    if result.returncode != 0:
        record("11. import of a CSV file", "failed", result.stderr.strip()[-200:])
        return
    figures = dict(line.split(": ", 1) for line in result.stdout.splitlines() if ": " in line)
    rate = rows / float(figures["total"].removesuffix(" s"))
    record(f"11. import of {figures['file']}: checked and applied",
           f"{figures['total']} ({rate:,.0f} rows/s)", "≤ 10 s; ≥ 20,000 rows/s")  # fmt: skip
    record("    stored / checked / applied",
           f"{figures['stored']} / {figures['checked']} / {figures['applied']}")  # fmt: skip
    record("    its page's preview (created, updated, kept hard)", figures["preview"], "< 1 s")
    record("    the worker's memory", figures["memory"].split(" (")[0], "< 200 MB")


def measure_bulk_actions() -> None:
    """Each bulk action on every contact of the demo's largest tag, as the task runs one
    (`contacts.bulk.run`): its contacts a second. Last but for SQLite: it changes the
    opt-outs and the ledger that the other lines read."""
    from django.conf import settings
    from django.contrib.auth import get_user_model

    from contacts import bulk
    from contacts.models import BulkJob, Tag

    settings.TASKS = {"default": {"BACKEND": "django.tasks.backends.dummy.DummyBackend"}}
    admin = get_user_model().objects.get(username="admin")
    audience = largest_tag()
    added = Tag.objects.create(name="Bench bulk")
    record(f"17. Bulk actions as a task, on the {audience.n:,} contacts of a tag", "")
    for action, label in [
        ("unsubscribe_sms", "SMS unsubscribe"), ("resubscribe_sms", "SMS resubscribe"),
        ("add_tag", "add a tag"), ("remove_tag", "remove the tag"),
    ]:  # fmt: skip
        tag = added if action.endswith("_tag") else None
        job = bulk.queue(action=action, query=f"tag={audience.pk}", tag=tag, user=admin, count=0)
        started = time.perf_counter()
        bulk.run(job.pk)
        elapsed = time.perf_counter() - started
        job = BulkJob.objects.get(pk=job.pk)
        record(f"    {label}", f"{job.total / elapsed:,.0f} contacts/s", "≥ 100,000 contacts/s")
    added.delete()


def measure_stop_webhook(runs: int = 3) -> None:
    """Runs of the load script, each with STOPs from numbers new to the database: medians of
    their figures, each run's in brackets."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    figures = {name: [] for name in ("rate", "p50", "p99", "served p50", "served p99")}
    failures = []
    for run in range(runs):
        result = subprocess.run(
            [sys.executable, str(ROOT / "bench" / "load_stop_webhooks.py"),
             "--seconds", "6", "--concurrency", "8", "--first", str(run * 100_000)],
            env=env, cwd=ROOT, capture_output=True, text=True,
        )  # fmt: skip
        if result.returncode != 0:  # a non-200 answer, a lost opt-out, or a crash
            failures.append((result.stdout.strip().splitlines() or [result.stderr[-300:]])[-1])
            continue
        found = re.search(STOP_FIGURES, result.stdout, re.DOTALL)
        for name, value in zip(figures, found.groups(), strict=True):
            figures[name].append(float(value))
        settle()

    def median_of_runs(name: str, unit: str) -> str:
        each = " / ".join(f"{value:.0f}" for value in figures[name])
        return f"{statistics.median(figures[name] or [0]):.0f} {unit} ({each})"

    record("10. STOP webhook, gunicorn, 8 connections", median_of_runs("rate", "requests/s"),
           "≥ 400 requests/s")  # fmt: skip
    record("    latency p50", median_of_runs("p50", "ms"))
    record("    latency p99", median_of_runs("p99", "ms"), "p99 ≤ 30 ms")
    record("    inside gunicorn p50", median_of_runs("served p50", "ms"),
           "(the wait for a worker left out)")  # fmt: skip
    record("    inside gunicorn p99", median_of_runs("served p99", "ms"))
    record("    correctness", f"{runs - len(failures)} of {runs} runs kept every STOP, once",
           "no opt-out lost")  # fmt: skip
    for failure in failures:
        print(f"    failed: {failure}")


# What load_stop_webhooks.py prints, in order.
STOP_FIGURES = (
    r"([\d.]+) requests/s.*latency: p50 (\d+) ms, p99 (\d+) ms"
    r".*in gunicorn: p50 (\d+) ms, p99 (\d+) ms"
)


def measure_sqlite(seed: int | None) -> None:
    """Line 15, the embedded default: bench/sqlite.py in a process of its own, on a file of
    its own."""
    command = [sys.executable, str(ROOT / "bench" / "sqlite.py")]
    if seed is not None:
        command += ["--seed", str(seed)]
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    result = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if result.returncode != 0:
        record("15. SQLite", "failed", result.stderr.strip()[-200:])
        return
    for line in result.stdout.splitlines():
        if line.count("\t") == 2:
            record(*line.split("\t"))


def write_results() -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = cursor.fetchone()[0]
    machine = (
        f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {version}, {time.strftime('%Y-%m-%d')}"
    )
    lines = [f"Benchmark at 1,000,000 contacts: {machine}", ""]
    lines += [f"{what:58s} {figure:>22s}   {target}" for what, figure, target in RESULTS]
    (ROOT / "bench" / "latest.txt").write_text("\n".join(lines) + "\n")
    print(f"\nWritten to bench/latest.txt ({machine}).")


if __name__ == "__main__":
    main()
