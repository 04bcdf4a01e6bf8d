"""Load script (not a test): signed STOP webhooks, duplicates mixed in, at gunicorn on loopback.

    make load-stop                      # 6 seconds on a throwaway PostgreSQL
    .venv/bin/python bench/load_stop_webhooks.py --seconds 20 --concurrency 32

It migrates a fresh database (DATABASE_URL, or a temporary SQLite file), serves the app with
gunicorn on 127.0.0.1, warms its workers up for a second, and has wrk send STOPs (a fifth of
them retries of an earlier MessageSid, as Twilio sends) over `--concurrency` connections for
`--seconds`. Then it checks that every STOP the app received was processed, its number
hard-opted-out with exactly one ledger entry, and prints requests/s and latency
percentiles: as wrk saw them, and as gunicorn timed each request (without the wait for a
free worker).
"""

import argparse
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "load-test-auth-token"
MOST_PER_SECOND = 3000  # STOPs signed for each second: more than the app answers here


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=int, default=6)
    parser.add_argument("--concurrency", type=int, default=16)
    # Synchronous workers, as many as the cores (PostgreSQL and wrk share them): on 2 cores,
    # 2 workers served 815 and 823 requests/s with p99 14 ms, 3 workers 736 and 832 with 19
    # and 15 ms (in turn). With the Python client before wrk, 3 workers were slower still,
    # and 4 workers of 4 threads each the slowest.
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="gunicorn worker processes")  # fmt: skip
    parser.add_argument("--threads", type=int, default=1, help="threads per worker")
    parser.add_argument("--first", type=int, default=0,
                        help="first message and number: another run on the same database "
                             "needs numbers that have not opted out yet")  # fmt: skip
    args = parser.parse_args()

    env = os.environ | {
        "DEBUG": "0",
        "SECRET_KEY": "load-test-" + "x" * 60,
        "SECURE_SSL_REDIRECT": "0",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "ALLOWED_HOSTS": "127.0.0.1",
    }
    env.setdefault("DATABASE_URL", f"sqlite:///{tempfile.mkdtemp()}/load.sqlite3")
    os.environ.update(env)
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    # gunicorn's own time for each request (µs), from reading it to writing the answer:
    # without the wait for a free worker, nor the client's share of the cores.
    timings = Path(tempfile.mkdtemp()) / "request-times.log"
    server = subprocess.Popen(
        [python, "-m", "gunicorn", "crm.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--threads", str(args.threads),
         "--log-level", "warning", "--access-logfile", str(timings),
         "--access-logformat", "%(D)s"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}/webhooks/twilio/sms/"
    total = int(args.seconds * MOST_PER_SECOND)
    warm_up = _stops(args.first, MOST_PER_SECOND)
    bodies = _stops(args.first + MOST_PER_SECOND, total)
    try:
        _wait_for(port)
        # A worker's first request loads what Django loads lazily and opens its database
        # connection, 0.4 s that a worker pays once, at its start.
        _wrk(url, warm_up, args.concurrency, seconds=1)
        time.sleep(0.5)  # for the warm-up's last lines to reach the log
        warm_up_lines = len(timings.read_text().split())
        sent = _wrk(url, bodies, args.concurrency, seconds=args.seconds)
    finally:
        server.terminate()
        server.wait(timeout=30)
    print(f"{sent['requests']:.0f} requests in {sent['seconds']:.1f} s: "
          f"{sent['requests'] / sent['seconds']:.0f} requests/s "
          f"over {args.concurrency} connections")  # fmt: skip
    server_times = [int(line) / 1e6 for line in timings.read_text().split()][warm_up_lines:]
    return _report(sent, server_times, bodies)


def _stops(first: int, total: int) -> list[dict]:
    """`total` STOPs from numbers new to the database, a fifth of them retries of another."""
    unique = int(total * 0.8)
    bodies = [{"MessageSid": f"SM{i:032d}", "From": f"+1415{2000000 + i}", "Body": "STOP"}
              for i in range(first, first + unique)]  # fmt: skip
    bodies += [random.choice(bodies) for _ in range(total - unique)]  # Twilio's retries
    random.shuffle(bodies)
    return bodies


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _wrk(url: str, bodies: list[dict], connections: int, seconds: int) -> dict[str, float]:
    """Send the requests in turn for `seconds` with wrk (bench/stop_requests.lua), signed
    before the clock starts. wrk's event loop in C leaves the cores to the server: the Python
    client it replaced, a thread pool on plain sockets, took 0.55 ms of CPU a request, an
    eighth of all the work of a STOP."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    lines = Path(tempfile.mkdtemp()) / "requests.txt"
    lines.write_text(
        "".join(f"{validator.compute_signature(url, data)}\t{urlencode(data)}\n" for data in bodies)
    )
    threads, script = min(2, connections), ROOT / "bench" / "stop_requests.lua"
    result = subprocess.run(
        ["wrk", "--threads", str(threads), "--connections", str(connections),
         "--duration", f"{seconds}s", "--timeout", "30s", "--script", str(script),
         url, "--", str(lines), str(threads)],
        capture_output=True, text=True,
    )  # fmt: skip
    found = re.search(WRK_SUMMARY, result.stdout)
    if result.returncode or not found:
        raise SystemExit(f"wrk failed: {(result.stdout + result.stderr).strip()}")
    return {name: float(value) for name, value in found.groupdict().items()}


# What bench/stop_requests.lua prints when wrk is done.
WRK_SUMMARY = (
    r"wrk: (?P<requests>\d+) requests in (?P<seconds>[\d.]+) s; "
    r"p50 (?P<p50>\d+) us, p99 (?P<p99>\d+) us; (?P<failed>\d+) non-200"
)


def _report(sent: dict[str, float], server_times: list[float], bodies: list[dict]) -> int:
    """Print the figures, and whether every STOP that reached the app was kept, once."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db.models import Count, Q

    from contacts.models import ConsentEvent, PhoneOptOut
    from messaging.models import InboundEvent

    print(f"latency: p50 {sent['p50'] / 1000:.0f} ms, p99 {sent['p99'] / 1000:.0f} ms")
    cuts = statistics.quantiles(server_times, n=100)
    print(f"in gunicorn: p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms, "
          f"max {max(server_times) * 1000:.0f} ms")  # fmt: skip
    # Every request answered 200 was stored first; wrk stopped the last ones half way.
    received = InboundEvent.objects.filter(key__in={f"sms:{body['MessageSid']}" for body in bodies})
    unprocessed = received.filter(Q(processed_at=None) | ~Q(error="")).count()
    numbers = {event.payload["From"] for event in received.only("payload")}
    opted_out = set(PhoneOptOut.objects.filter(phone__in=numbers).values_list("phone", flat=True))
    ledger = dict(
        ConsentEvent.objects.filter(contact=None, after="hard", phone__in=numbers)
        .values_list("phone")
        .annotate(n=Count("id"))
    )
    wrong = [phone for phone in numbers if ledger.get(phone) != 1]
    failed = int(sent["failed"])
    print(f"non-200 answers: {failed}; unprocessed STOPs: {unprocessed}; numbers opted out: "
          f"{len(opted_out)}/{len(numbers)}; numbers without exactly one ledger entry: "
          f"{len(wrong)}")  # fmt: skip
    kept = not unprocessed and len(opted_out) == len(numbers) and not wrong
    return 0 if not failed and kept else 1


if __name__ == "__main__":
    sys.exit(main())
