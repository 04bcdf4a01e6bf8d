"""Production settings come from the environment and pass Django's deployment checks."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION = {
    "DEBUG": "0",
    "SECRET_KEY": "x7Tq-a-long-random-production-secret-key-9f2LmN0pQrStUvWxYz-1234567890",
    "ALLOWED_HOSTS": "crm.example.com",
    "TWILIO_AUTH_TOKEN": "0123456789abcdef0123456789abcdef",
    "DATABASE_URL": "postgres://crm_app:secret@db.example.com/crm",
    "BUSINESS_NAME": "Smile Dental",
    "BUSINESS_CONTACT": "smiledental.example.com/help",
    "MESSAGING_BACKEND": "twilio",
    "TWILIO_ACCOUNT_SID": "AC0123456789abcdef0123456789abcdef",
    "TWILIO_FROM_NUMBER": "(415) 555-0111",
    "PUBLIC_URL": "https://crm.example.com",
    "BUSINESS_PHONE": "(415) 555-0100",
    "CALL_BACK_NUMBER": "(888) 555-0100",
}


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k not in PRODUCTION} | env
    return subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=environment,
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_production_configuration_passes_check_deploy_with_no_warnings():
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


@pytest.mark.parametrize("unset", ["BUSINESS_NAME", "BUSINESS_CONTACT"])
def test_check_deploy_warns_when_the_help_reply_would_name_the_demo_business(unset):
    production = {k: v for k, v in PRODUCTION.items() if k != unset}
    result = manage("check", "--deploy", **production)
    assert "messaging.W004" in result.stderr and f"{unset} is not set" in result.stderr
    assert result.stderr.count("messaging.W004") == 1


def test_check_deploy_warns_that_the_console_backend_sends_nothing():
    """An operator's deploy with the four settings the README once listed: the worker printed
    each broadcast's messages in its log, and the pages said they were sent."""
    result = manage("check", "--deploy", **PRODUCTION | {"MESSAGING_BACKEND": "console"})
    assert "messaging.W007" in result.stderr
    assert "MESSAGING_BACKEND is console: no message reaches anyone" in result.stderr


@pytest.mark.parametrize("unset", ["TWILIO_ACCOUNT_SID", "TWILIO_FROM_NUMBER"])
def test_check_deploy_refuses_twilio_without_an_account_or_a_sender(unset):
    production = {k: v for k, v in PRODUCTION.items() if k != unset}
    result = manage("check", "--deploy", **production)
    assert result.returncode != 0
    assert "messaging.E004" in result.stderr and unset in result.stderr


def test_check_deploy_refuses_a_public_url_whose_host_is_not_allowed():
    """Each webhook to it was answered 400, and its STOP lost."""
    result = manage("check", "--deploy", **PRODUCTION | {"ALLOWED_HOSTS": "crm.internal"})
    assert result.returncode != 0
    assert "crm.E004" in result.stderr and "crm.example.com, is not one of ALLOWED_HOSTS" in (
        result.stderr
    )


def test_the_keys_secret_key_replaced_are_read_from_the_environment():
    code = "from django.conf import settings; print(settings.SECRET_KEY_FALLBACKS)"
    old = "an-old-production-secret-key-0123456789-abcdefghijklmnopqrstuvwxyz-0123456789"
    result = manage("shell", "-c", code, **PRODUCTION | {"SECRET_KEY_FALLBACKS": f" {old} ,"})
    assert result.stdout.strip().splitlines()[-1] == str([old]), result.stderr


def test_check_deploy_takes_an_ipv6_public_url_as_allowed_hosts_writes_it():
    ipv6 = {"PUBLIC_URL": "https://[2606:4700::1111]", "ALLOWED_HOSTS": "[2606:4700::1111]"}
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION | ipv6)
    assert result.returncode == 0, result.stderr


def test_check_deploy_warns_that_calls_need_a_number_of_their_own():
    """A cold review: with a Messaging Service and no TWILIO_FROM_NUMBER, texts go, and each
    call would be placed from no number."""
    production = {k: v for k, v in PRODUCTION.items() if k != "TWILIO_FROM_NUMBER"}
    production["TWILIO_MESSAGING_SERVICE_SID"] = "MG0123456789abcdef0123456789abcdef"
    result = manage("check", "--deploy", **production)
    assert "messaging.W008" in result.stderr and "messaging.E004" not in result.stderr
    assert "Calls are placed from TWILIO_FROM_NUMBER, which is not set" in result.stderr


def test_debug_off_without_a_secret_key_stops_with_a_clear_message():
    result = manage("check", DEBUG="0", ALLOWED_HOSTS="crm.example.com", TWILIO_AUTH_TOKEN="t")
    assert result.returncode != 0
    assert "Set SECRET_KEY when DEBUG is off" in result.stderr


@pytest.mark.parametrize("token", [None, "", "   "])
def test_debug_off_without_a_webhook_token_stops_every_process(token):
    production = {k: v for k, v in PRODUCTION.items() if k != "TWILIO_AUTH_TOKEN"}
    if token is not None:
        production["TWILIO_AUTH_TOKEN"] = token
    for command in (["check", "--deploy"], ["runserver", "--noreload", "127.0.0.1:0"]):
        result = manage(*command, **production)
        assert result.returncode != 0
        assert "Set TWILIO_AUTH_TOKEN when DEBUG is off" in result.stderr


def test_check_deploy_reports_the_development_token_as_an_error():
    production = PRODUCTION | {"TWILIO_AUTH_TOKEN": "development-auth-token"}
    result = manage("check", "--deploy", **production)
    assert result.returncode != 0
    assert "crm.E001" in result.stderr and "development token" in result.stderr


def test_check_deploy_warns_that_sqlite_has_no_roles():
    production = PRODUCTION | {"DATABASE_URL": "sqlite:////tmp/crm-production-check.sqlite3"}
    result = manage("check", "--deploy", **production)
    assert "crm.W001" in result.stderr and "SQLite, which has no roles" in result.stderr
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production)
    assert result.returncode != 0


def test_a_malformed_boolean_is_named():
    result = manage("check", DEBUG="maybe")
    assert result.returncode != 0
    assert "DEBUG='maybe' is not a boolean" in result.stderr


def test_no_model_change_lacks_a_migration(db):
    from django.core.management import call_command

    call_command("makemigrations", "--check", "--dry-run", verbosity=0)


@pytest.mark.parametrize(
    ("digit", "message"),
    [("12", "RESUBSCRIBE_DIGIT='12': use one key"), ("9", "must be different keys")],
)
def test_the_resubscribe_digit_is_one_key_other_than_the_unsubscribe_digit(digit, message):
    result = manage("check", RESUBSCRIBE_DIGIT=digit)
    assert result.returncode != 0
    assert message in result.stderr


def test_a_negative_proxy_count_is_refused():
    result = manage("check", TRUSTED_PROXY_COUNT="-1")
    assert result.returncode != 0
    assert "TRUSTED_PROXY_COUNT=-1: use 0 or more" in result.stderr


def test_an_smtp_server_from_the_environment_is_the_mailer_and_passes_check_deploy():
    email = {"EMAIL_HOST": "smtp.example.com", "EMAIL_PORT": "587", "EMAIL_USE_TLS": "1",
             "EMAIL_HOST_USER": "crm", "EMAIL_HOST_PASSWORD": "secret"}  # fmt: skip
    code = "from django.conf import settings; print(settings.MAILERS['default'])"
    shown = manage("shell", "--no-imports", "-c", code, **PRODUCTION, **email)
    assert shown.returncode == 0, shown.stderr
    assert "'host': 'smtp.example.com'" in shown.stdout and "'port': 587" in shown.stdout
    assert "'use_tls': True" in shown.stdout and "'username': 'crm'" in shown.stdout
    result = manage("check", "--deploy", "--fail-level", "WARNING", **PRODUCTION, **email)
    assert result.returncode == 0, result.stdout + result.stderr


def test_check_deploy_refuses_the_console_mailer_and_both_kinds_of_tls_are_refused():
    result = manage("check", "--deploy", **PRODUCTION, EMAIL_BACKEND="console")
    assert result.returncode != 0 and "mail.E001" in result.stderr
    result = manage("check", EMAIL_HOST="smtp.example.com", EMAIL_USE_TLS="1", EMAIL_USE_SSL="1")
    assert result.returncode != 0
    assert "Set EMAIL_USE_TLS (STARTTLS) or EMAIL_USE_SSL, not both" in result.stderr


@pytest.mark.parametrize("public_url", [None, "", "  "])
def test_sending_through_twilio_without_debug_needs_the_public_url(public_url):
    """Left to `make run`'s address, every call would send its unsubscribe key to 127.0.0.1,
    which Twilio cannot reach: the key would stop no call (a cold review)."""
    production = {k: v for k, v in PRODUCTION.items() if k != "PUBLIC_URL"}
    if public_url is not None:
        production["PUBLIC_URL"] = public_url
    for command in (["check", "--deploy"], ["runserver", "--noreload", "127.0.0.1:0"]):
        result = manage(*command, **production)
        assert result.returncode != 0
        assert "Set PUBLIC_URL when DEBUG is off and MESSAGING_BACKEND is twilio" in result.stderr


def test_the_unsubscribe_key_of_a_call_goes_to_the_public_url():
    code = "from messaging.twiml import voice_message; print(voice_message(script='Hi'))"
    result = manage("shell", "-c", code, **PRODUCTION)
    assert result.returncode == 0, result.stderr
    assert '<Gather action="https://crm.example.com/webhooks/twilio/voice/gather/' in result.stdout


def test_check_deploy_refuses_an_http_public_url_that_https_redirects():
    production = PRODUCTION | {"PUBLIC_URL": "http://crm.example.com"}
    result = manage("check", "--deploy", **production)
    assert result.returncode != 0
    assert "crm.E002" in result.stderr and "would be redirected" in result.stderr
    behind_no_redirect = production | {"SECURE_SSL_REDIRECT": "0"}
    assert "crm.E002" not in manage("check", "--deploy", **behind_no_redirect).stderr


@pytest.mark.parametrize(
    "public_url", ["crm.example.com", "https://localhost", "https://127.0.0.1:8000", "ftp://x.y"]
)
def test_check_deploy_refuses_a_public_url_twilio_cannot_reach(public_url):
    """A cold review: one without a scheme, or of this machine, passed."""
    result = manage("check", "--deploy", **(PRODUCTION | {"PUBLIC_URL": public_url}))
    assert result.returncode != 0
    assert "crm.E003" in result.stderr and "which Twilio cannot reach" in result.stderr


@pytest.mark.parametrize("setting", ["BROADCAST_RATE", "CALL_RATE"])
def test_a_rate_of_nothing_stops_with_a_clear_message(setting):
    result = manage("check", **{setting: "0"})
    assert result.returncode != 0
    assert f"{setting}=0.0: messages a second, more than 0." in result.stderr
