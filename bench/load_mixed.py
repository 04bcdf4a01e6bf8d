"""Load script (not a test): staff browsing the Contacts table while STOPs pour in.

    make load-mixed                     # on a throwaway PostgreSQL, 60 seconds
    .venv/bin/python bench/load_mixed.py --users 50 --stops 200 --seconds 60

It migrates the database (DATABASE_URL), loads `--contacts` demo contacts, serves the app
with gunicorn on 127.0.0.1, and for `--seconds` runs `--users` signed-in staff who each open
a Contacts page (filters, searches, sorts, next pages), read it for up to a second and go on,
while signed STOP webhooks arrive at `--stops` a second, from demo contacts' numbers and from
new ones. Then it checks that every STOP's number is hard-opted-out with exactly one ledger
entry, and prints requests, errors and latencies for both.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TOKEN = "load-test-auth-token"
PAGES = [
    "/contacts/", "/contacts/?sms=hard", "/contacts/?calls=soft", "/contacts/?q=Aish",
    "/contacts/?q=%28201%29+200", "/contacts/?sort=-created_at", "/contacts/?per_page=100",
    "/contacts/?status=archived", "/contacts/?q=0101", "/contacts/?sms=subscribed&sort=phone",
]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--stops", type=float, default=200, help="STOP webhooks a second")
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=(os.cpu_count() or 1) + 1)
    args = parser.parse_args()

    env = os.environ | {
        "DEBUG": "0",
        "SECRET_KEY": "load-test-" + "x" * 60,
        "SECURE_SSL_REDIRECT": "0",
        "TWILIO_AUTH_TOKEN": TOKEN,
        "ALLOWED_HOSTS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "crm.settings",
        "STATIC_ROOT": tempfile.mkdtemp(prefix="crm-load-static-"),
    }
    os.environ.update(env)
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    # As in production: DEBUG off, static files collected.
    subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], cwd=ROOT, env=env, check=True)
    subprocess.run([*manage, "seed_demo", "--contacts", str(args.contacts), "-v0"], cwd=ROOT,
                   env=env, check=True, capture_output=True)  # fmt: skip

    import django

    django.setup()
    from load_stop_webhooks import _wait_for

    cookies = [_session_cookie() for _ in range(args.users)]
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "crm.wsgi", "--bind", f"127.0.0.1:{port}",
         "--workers", str(args.workers), "--log-level", "warning"],
        cwd=ROOT, env=env,
    )  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_for(port)
        pages, stops = _run(base, cookies, args)
    finally:
        server.terminate()
        server.wait(timeout=30)
    return _report(pages, stops, args)


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _session_cookie() -> str:
    """A signed-in staff session, as the login page would leave it."""
    from django.conf import settings
    from django.contrib import auth
    from django.contrib.sessions.backends.db import SessionStore

    user = auth.get_user_model().objects.get(username="staff")
    session = SessionStore()
    session[auth.SESSION_KEY] = str(user.pk)
    session[auth.BACKEND_SESSION_KEY] = settings.AUTHENTICATION_BACKENDS[-1]
    session[auth.HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    return f"{settings.SESSION_COOKIE_NAME}={session.session_key}"


def _run(base: str, cookies: list[str], args) -> tuple[list, list]:
    from twilio.request_validator import RequestValidator

    deadline = time.monotonic() + args.seconds
    pages: list[tuple[float, int]] = []
    stops: list[tuple[float, int, str]] = []

    def browse(cookie: str) -> None:
        rng = random.Random(cookie)
        while time.monotonic() < deadline:
            pages.append(_get(base + rng.choice(PAGES), cookie))
            time.sleep(rng.random())  # reading the page

    url = f"{base}/webhooks/twilio/sms/"
    validator = RequestValidator(TOKEN)
    numbers = _stop_numbers(int(args.stops * args.seconds))

    def stop(item: tuple[int, str]) -> None:
        position, phone = item
        fields = {"MessageSid": f"SM{position:032d}", "From": phone, "Body": "STOP"}
        signature = validator.compute_signature(url, fields)
        request = Request(
            url, data=urlencode(fields).encode(), headers={"X-Twilio-Signature": signature}
        )
        elapsed, status = _timed(request)
        stops.append((elapsed, status, phone))

    def pour() -> None:
        with ThreadPoolExecutor(32) as pool:
            started = time.monotonic()
            for position, phone in enumerate(numbers):
                time.sleep(max(started + position / args.stops - time.monotonic(), 0))
                if time.monotonic() >= deadline:
                    break
                pool.submit(stop, (position, phone))

    threads = [threading.Thread(target=browse, args=(cookie,)) for cookie in cookies]
    threads.append(threading.Thread(target=pour))
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return pages, stops


def _stop_numbers(count: int) -> list[str]:
    """Half the numbers of demo contacts, half new ones; each once."""
    from contacts.models import Contact

    known = list(Contact.objects.order_by("?").values_list("phone", flat=True)[: count // 2])
    new = [f"+1415{3000000 + i}" for i in range(count - len(known))]
    numbers = known + new
    random.Random(1).shuffle(numbers)
    return numbers


def _get(url: str, cookie: str) -> tuple[float, int]:
    return _timed(Request(url, headers={"Cookie": cookie}))


def _timed(request: Request) -> tuple[float, int]:
    started = time.perf_counter()
    try:
        with urlopen(request, timeout=60) as response:
            response.read()
            status = response.status
    except HTTPError as error:
        status = error.code
    except OSError:
        status = 0
    return time.perf_counter() - started, status


def _report(pages: list, stops: list, args) -> int:
    from django.db.models import Count

    from contacts.models import ConsentEvent, PhoneOptOut

    def latency(times: list[float]) -> str:
        if len(times) < 2:
            return "n/a"
        cuts = [cut * 1000 for cut in statistics.quantiles(times, n=100)]
        return f"p50 {cuts[49]:.0f} ms, p99 {cuts[98]:.0f} ms, max {max(times) * 1000:.0f} ms"

    page_errors = Counter(status for _, status in pages if status != 200)
    stop_errors = Counter(status for _, status, _ in stops if status != 200)
    print(f"{args.users} staff browsing for {args.seconds:.0f} s: {len(pages)} pages "
          f"({len(pages) / args.seconds:.0f}/s), errors {page_errors.total()} {dict(page_errors)}; "
          f"{latency([t for t, _ in pages])}")  # fmt: skip
    print(f"STOP webhooks at {args.stops:.0f}/s: {len(stops)} answered "
          f"({len(stops) / args.seconds:.0f}/s), errors {stop_errors.total()} {dict(stop_errors)}; "
          f"{latency([t for t, _, _ in stops])}")  # fmt: skip
    phones = {phone for _, _, phone in stops}
    opted_out = set(PhoneOptOut.objects.filter(phone__in=phones, channel="sms")
                    .values_list("phone", flat=True))  # fmt: skip
    ledger = dict(
        ConsentEvent.objects.filter(contact=None, after="hard", channel="sms", phone__in=phones)
        .values_list("phone")
        .annotate(n=Count("id"))
    )
    wrong = [phone for phone in phones if ledger.get(phone) != 1]
    print(f"numbers opted out: {len(opted_out)}/{len(phones)}; "
          f"without exactly one ledger entry: {len(wrong)}")  # fmt: skip
    ok = not page_errors and not stop_errors and len(opted_out) == len(phones) and not wrong
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
