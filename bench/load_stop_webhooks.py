"""Load script (not a test): signed STOP webhooks, duplicates mixed in, at gunicorn on loopback.

    make load-stop                      # 3,000 requests on a throwaway PostgreSQL
    .venv/bin/python bench/load_stop_webhooks.py --requests 5000 --concurrency 32

It migrates a fresh database (DATABASE_URL, or a temporary SQLite file), serves the app with
gunicorn on 127.0.0.1, warms its workers up with 40 requests, sends the requests from a thread
pool (a fifth of them retries of an earlier MessageSid, as Twilio sends), then checks that
every number is hard-opted-out with exactly one ledger entry, and prints requests/s and
latency percentiles: as the clients saw them, and as gunicorn timed each request (without
the wait for a free worker).
"""

import argparse
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "load-test-auth-token"
WARM_UP = 40  # requests before the clock starts


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--concurrency", type=int, default=16)
    # Synchronous workers, as many as the cores (PostgreSQL and this script share them): on
    # 2 cores, 2 workers served 362-466 requests/s with p99 35-38 ms, 3 workers 288-330 with
    # 41-51 ms (interleaved runs), and 4 workers of 4 threads each 277 with 64 ms.
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
    try:
        _wait_for(port)
        latencies, statuses, numbers = _fire(url, args.requests, args.concurrency, args.first)
    finally:
        server.terminate()
        server.wait(timeout=30)
    server_times = [int(line) / 1e6 for line in timings.read_text().split()][WARM_UP:]
    return _report(latencies, server_times, statuses, numbers)


def _wait_for(port: int) -> None:
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit("gunicorn did not start")


def _fire(url: str, total: int, concurrency: int, first: int):
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(TOKEN)
    unique = int(total * 0.8)

    def stops(numbers: range) -> list[dict]:
        return [{"MessageSid": f"SM{i:032d}", "From": f"+1415{2000000 + i}", "Body": "STOP"}
                for i in numbers]  # fmt: skip

    bodies = stops(range(first, first + unique))
    # A fifth are Twilio's retries of a message already sent.
    bodies += [random.choice(bodies) for _ in range(total - unique)]
    random.shuffle(bodies)
    # Numbers of their own for the warm-up: a worker's first request loads what Django loads
    # lazily and opens its database connection, 0.4 s that a worker pays once, at its start.
    warm_up = stops(range(first + total, first + total + WARM_UP))

    # Signed and written out as whole HTTP requests before the clock starts, and sent over plain
    # sockets: the client shares the server's cores, and its own work should not be counted as
    # the server's (http.client took 0.41 ms of CPU a request, this 0.22 ms).
    host, port = url.split("/")[2].split(":")
    path = "/" + url.split("/", 3)[3]

    def written_out(data: dict) -> bytes:
        body = urlencode(data).encode()
        head = (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n"
                "Content-Type: application/x-www-form-urlencoded\r\n"
                f"X-Twilio-Signature: {validator.compute_signature(url, data)}\r\n"
                f"Content-Length: {len(body)}\r\n\r\n")  # fmt: skip
        return head.encode() + body

    requests = [written_out(data) for data in bodies]

    def send(request: bytes) -> tuple[float, int]:
        started = time.perf_counter()
        with socket.create_connection((host, int(port)), timeout=30) as sock:
            sock.sendall(request)
            answer = b""
            while chunk := sock.recv(65536):  # the server closes when it has answered
                answer += chunk
        status = int(answer.split(b" ", 2)[1])
        return time.perf_counter() - started, status

    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, map(written_out, warm_up)))
        started = time.perf_counter()
        results = list(pool.map(send, requests))
    elapsed = time.perf_counter() - started
    print(f"{total} requests ({unique} unique numbers) in {elapsed:.1f} s: "
          f"{total / elapsed:.0f} requests/s with {concurrency} concurrent clients")  # fmt: skip
    return [r[0] for r in results], [r[1] for r in results], {b["From"] for b in bodies}


def _report(
    latencies: list[float], server_times: list[float], statuses: list[int], numbers: set[str]
) -> int:
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "crm.settings")
    sys.path.insert(0, str(ROOT))
    django.setup()
    from django.db.models import Count

    from contacts.models import ConsentEvent, PhoneOptOut

    for label, times in (("latency", latencies), ("in gunicorn", server_times)):
        cuts = statistics.quantiles(times, n=100)
        print(f"{label}: p50 {cuts[49] * 1000:.0f} ms, p99 {cuts[98] * 1000:.0f} ms, "
              f"max {max(times) * 1000:.0f} ms")  # fmt: skip
    failed = [s for s in statuses if s != 200]
    opted_out = set(PhoneOptOut.objects.filter(phone__in=numbers).values_list("phone", flat=True))
    ledger = dict(
        ConsentEvent.objects.filter(contact=None, after="hard", phone__in=numbers)
        .values_list("phone")
        .annotate(n=Count("id"))
    )
    wrong = [phone for phone in numbers if ledger.get(phone) != 1]
    print(f"non-200 answers: {len(failed)}; numbers opted out: {len(opted_out)}/{len(numbers)}; "
          f"numbers without exactly one ledger entry: {len(wrong)}")  # fmt: skip
    return 0 if not failed and len(opted_out) == len(numbers) and not wrong else 1


if __name__ == "__main__":
    sys.exit(main())
