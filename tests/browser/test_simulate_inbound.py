"""A newcomer's first try of inbound opt-outs: simulate a STOP, see the icon turn red."""

import subprocess
import sys
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import ROOT

pytestmark = pytest.mark.browser


def simulate(app_env, app_url, *args: str, **env: str) -> str:
    """Run simulate_inbound as the README says, with the address the app is served at."""
    result = subprocess.run(
        [sys.executable, str(ROOT / "manage.py"), "simulate_inbound", *args],
        env=app_env | (env or {"PUBLIC_URL": app_url}), cwd=ROOT, capture_output=True,
        text=True, check=True,
    )  # fmt: skip
    return result.stdout


def test_a_simulated_stop_turns_the_sms_icon_red_and_start_undoes_it(login, app_env, app_url):
    page = login("staff")
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    cell = page.locator("td.opt-in-cell")
    expect(cell.get_by_role("img", name="SMS: subscribed", exact=True)).to_be_visible()

    answer = simulate(app_env, app_url, "--from", "(415) 555-0101", "--body", "Stop")
    assert "You have been unsubscribed" in answer
    page.reload()
    hard = cell.get_by_role("img", name="SMS: opted out (hard)", exact=True)
    expect(hard).to_be_visible()
    assert hard.evaluate("e => getComputedStyle(e).outlineColor") == "rgb(186, 33, 33)"

    simulate(app_env, app_url, "--from", "+14155550101", "--body", "START")
    page.reload()
    expect(cell.get_by_role("img", name="SMS: subscribed", exact=True)).to_be_visible()


def test_a_simulated_digit_opts_out_of_calls(login, app_env, app_url):
    page = login("staff")
    simulate(app_env, app_url, "--from", "+14155550101", "--digits", "9")
    page.goto(f"{app_url}/contacts/?q=Contact+B")
    expect(page.get_by_role("img", name="Calls & Voicemails: opted out (hard)")).to_be_visible()


def test_on_the_port_make_run_was_given_a_simulated_help_reaches_the_app(app_env, app_url):
    port = urlsplit(app_url).port
    answer = simulate(app_env, app_url, "--from", "+14155550199", "--body", "HELP", PORT=str(port))
    assert f"to {app_url}/webhooks/twilio/sms/" in answer
    assert "Reply STOP to opt out" in answer


def test_staff_confirm_a_possible_opt_out_after_being_asked_once_more(login, app_env, app_url):
    phone = "+14155550188"  # no demo contact has it
    simulate(app_env, app_url, "--from", phone, "--body", "Who is this? Do I know you?")
    page = login("staff")
    page.goto(f"{app_url}/messaging/possible-opt-outs/")
    row = page.get_by_role("row").filter(has_text="Do I know you?")
    expect(row).to_contain_text("No contact has this number")
    expect(row).to_contain_text("(415) 555-0188")
    row.get_by_role("button", name="Confirm: opt out…").click()

    expect(page.get_by_role("heading")).to_have_text("Opt (415) 555-0188 out of SMS for good?")
    page.get_by_role("link", name="Not now").click()
    row.get_by_role("button", name="Confirm: opt out…").click()
    page.get_by_role("button", name="Yes, opt (415) 555-0188 out of SMS").click()
    expect(page.locator(".messagelist")).to_have_text(
        "(415) 555-0188: opted out of SMS (hard), in their words."
    )
    expect(page.get_by_role("row").filter(has_text="Do I know you?")).to_contain_text(
        "Confirmed: opted out of SMS by staff"
    )
    simulate(app_env, app_url, "--from", phone, "--body", "START")  # as it was


def test_the_outbox_shows_the_reply_to_a_help_filtered_by_its_number(login, app_env, app_url):
    simulate(app_env, app_url, "--from", "+14155550166", "--body", "help")
    page = login("staff")
    page.goto(f"{app_url}/messaging/outbox/")
    page.get_by_label("Number").fill("415.555.0166")
    page.get_by_role("button", name="Filter").click()
    rows = page.locator("tbody tr")
    expect(rows).to_have_count(1)
    expect(rows).to_contain_text("(415) 555-0166")
    expect(rows.get_by_role("cell", name="SMS reply to help", exact=True)).to_be_visible()
    expect(rows).to_contain_text("Demo Dental: help at (415) 555-9999. Reply STOP to opt out.")

    page.get_by_label("Number").fill("not a number")
    page.get_by_role("button", name="Filter").click()
    expect(page.locator(".errorlist")).to_contain_text("“not a number” is not a phone number")


def test_an_admin_keeps_a_dismissed_wording_and_the_next_such_reply_passes(login, app_env, app_url):
    phone = "+14155550187"  # no demo contact has it
    simulate(app_env, app_url, "--from", phone, "--body", "Who is this? Is this Maria's shop?")
    page = login("admin")
    page.goto(f"{app_url}/messaging/possible-opt-outs/")
    row = page.get_by_role("row").filter(has_text="Is this Maria's shop?")
    expect(row).to_contain_text("matched: may ask to stop: “who is this”")
    row.get_by_label("Same for this wording").check()
    row.get_by_role("button", name="Dismiss").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "The next reply worded “Who is this? Is this Maria's shop?” will be read as an ordinary"
    )
    page.get_by_role("link", name="reply phrases").click()
    expect(page.get_by_role("row").filter(has_text="Is this Maria's shop?")).to_contain_text(
        "An ordinary reply: nothing changes"
    )

    simulate(app_env, app_url, "--from", phone, "--body", "who is this?? is this marias shop")
    page.goto(f"{app_url}/messaging/possible-opt-outs/")
    pending = page.locator("table").first.get_by_role("row").filter(has_text="marias shop")
    expect(pending).to_have_count(0)
    page.goto(f"{app_url}/messaging/reply-phrases/")
    page.get_by_role("row").filter(has_text="Is this Maria's shop?").get_by_role(
        "button", name="Delete"
    ).click()  # as it was
