"""Browser tests: a real Chromium (Debian's) driven by Playwright, against the app served by
`manage.py runserver`, with its task worker, on a throwaway SQLite database loaded with the
demo data, as in `make run`.

The server runs in its own process with its own database, rather than pytest-django's
live_server: that one empties the test database after each test, and the guard triggers
rightly refuse to delete the consent ledger. The tests share the server's data, so each
leaves the contacts it touches as it found them.
"""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo, available_timezones

import pytest

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "browser-test-password"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="package")
def app_env(tmp_path_factory) -> dict[str, str]:
    """The environment of the served app, for commands that talk to it."""
    database = tmp_path_factory.mktemp("browser") / "app.sqlite3"
    return {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"} | {
        "DATABASE_URL": f"sqlite:///{database}",
        "DEBUG": "1",
        "DEMO_PASSWORD": PASSWORD,
        "MESSAGING_BACKEND": "console",
    }


@pytest.fixture(scope="package")
def app_url(app_env, tmp_path_factory) -> str:
    env = app_env
    manage = [sys.executable, str(ROOT / "manage.py")]
    for command in (["migrate", "-v0"], ["seed_demo", "-v0"]):
        subprocess.run(manage + command, env=env, cwd=ROOT, check=True, capture_output=True)
    port = _free_port()
    # A file, not a pipe: runserver logs every request to stderr, and a pipe that nobody reads
    # fills up (64 KB) and stops the server in the middle of the run.
    errors = tmp_path_factory.mktemp("runserver") / "stderr.log"
    with errors.open("wb") as stderr:  # the server keeps its own copy of the file
        server = subprocess.Popen(
            manage + ["runserver", "--noreload", "--skip-checks", f"127.0.0.1:{port}"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
        )
    # The task worker sends broadcasts, as beside `make run`.
    worker = subprocess.Popen(
        manage + ["worker", "--no-reload", "--no-startup-delay", "--interval", "0.2"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{url}/accounts/login/", timeout=1)
                break
            except OSError:
                if server.poll() is not None:
                    pytest.fail(f"The server did not start: {errors.read_text()}")
                time.sleep(0.1)
        yield url
    finally:
        for process in (server, worker):
            process.terminate()
            process.wait(timeout=10)


@pytest.fixture(scope="package")
def browser():
    from playwright.sync_api import sync_playwright

    executable = shutil.which("chromium")
    if not executable:
        pytest.fail("Chromium is missing: `make test` installs Debian's chromium package.")
    # Playwright's sync API keeps an event loop running in this thread, and Django refuses
    # database access while one runs; fixtures of pytest-django may still touch it.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_ARGS)
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def login(browser, app_url):
    """A fresh browser context, signed in as one of the demo users (the login leads to the
    Insights page), on the Contacts table."""
    contexts = []

    def login_as(username: str):
        context = browser.new_context(viewport={"width": 1400, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.goto(f"{app_url}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", PASSWORD)
        page.click("input[type=submit]")
        page.wait_for_url(f"{app_url}/broadcasts/insights/")  # where everyone lands
        page.goto(f"{app_url}/contacts/")  # where most tests start
        return page

    yield login_as
    for context in contexts:
        context.close()


def zone_at(local_hour: int) -> str:
    """A place's zone whose clock shows `local_hour` now, of a whole hour from UTC and outside
    North America (its pages name it, not "Eastern"): a contact's own time zone must be a
    place's. There is one for each hour: places are from UTC-11 to UTC+14."""
    from contacts.places import is_a_place, zone_label

    now = datetime.now(UTC)
    return min(
        zone
        for zone in available_timezones()
        if is_a_place(zone)
        and zone_label(zone) == zone
        and (local := now.astimezone(ZoneInfo(zone))).hour == local_hour
        and local.utcoffset().total_seconds() % 3600 == 0
    )


def shell(app_env, code: str) -> None:
    """Run Python in the served app's environment (its database)."""
    subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "shell", "-v0", "-c", code],
        env=app_env, cwd=ROOT, check=True, capture_output=True, text=True,
    )  # fmt: skip
