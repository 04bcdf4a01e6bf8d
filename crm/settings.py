"""Settings for the CRM. Everything that differs between machines comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP

BASE_DIR = Path(__file__).resolve().parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={value!r} is not a boolean: use 1 or 0.")


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("Set SECRET_KEY when DEBUG is off.")
    SECRET_KEY = "django-insecure-development-only-key-never-use-it-in-production-0123456789"

# The keys SECRET_KEY replaced, comma-separated: what they signed stays valid, the
# subscriptions links texted to contacts among them ("Changing SECRET_KEY" in the README).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS")
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

INSTALLED_APPS = [
    "crm.apps.AdminConfig",  # django.contrib.admin, with the project's site
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tables2",
    "django_filters",
    "django_tasks_db",
    "axes",
    "crm",
    "contacts",
    "broadcasts",
    "messaging",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before anything reads a form (the CSRF check, a webhook's signature).
    "crm.middleware.utf8_forms",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a locked-out login into its lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "crm.urls"
WSGI_APPLICATION = "crm.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "crm.roles.context",
                "contacts.context_processors.wording",
            ],
        },
    },
]

# The embedded default is an SQLite file beside the code; production sets DATABASE_URL.
DATABASES = {
    "default": dj_database_url.config(
        default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}", conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # Wait for a writer instead of failing at once, and let readers run beside it.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# django-axes first: it refuses a locked-out login before any password is checked. Then
# Django's permissions, with a user's roles read in the same query (crm/roles.py).
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "crm.roles.RoleBackend"]

# Login throttling. A lockout holds for one username from one address, so that an attacker
# who tries every username cannot lock everybody out, and it ends by itself.
AXES_FAILURE_LIMIT = int(os.environ.get("AXES_FAILURE_LIMIT", 5))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("AXES_COOLOFF_MINUTES", 15)))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_VERBOSE = False
AXES_USERNAME_CALLABLE = "crm.accounts.username_tried"
# Behind a TLS proxy every request comes from the proxy's address: the client's is read from
# X-Forwarded-For, past this many proxies (crm/proxy.py). 0: no proxy, REMOTE_ADDR.
TRUSTED_PROXY_COUNT = int(os.environ.get("TRUSTED_PROXY_COUNT", "0"))
if TRUSTED_PROXY_COUNT < 0:
    raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT={TRUSTED_PROXY_COUNT}: use 0 or more.")
AXES_CLIENT_IP_CALLABLE = "crm.proxy.client_address"


def _mailers() -> dict:
    """Django's MAILERS from the environment: one "default" mailer, or none at all."""
    host = os.environ.get("EMAIL_HOST", "").strip()
    backend = os.environ.get("EMAIL_BACKEND", "").strip()
    if not host and not backend:
        return {}
    backend = backend or "smtp"
    if "." not in backend:  # smtp, console, ...: one of Django's own
        backend = f"django.core.mail.backends.{backend}.EmailBackend"
    if backend != "django.core.mail.backends.smtp.EmailBackend":
        return {"default": {"BACKEND": backend}}
    use_tls, use_ssl = env_bool("EMAIL_USE_TLS", False), env_bool("EMAIL_USE_SSL", False)
    if use_tls and use_ssl:
        raise ImproperlyConfigured("Set EMAIL_USE_TLS (STARTTLS) or EMAIL_USE_SSL, not both.")
    options = {
        "host": host or "localhost",
        "username": os.environ.get("EMAIL_HOST_USER", ""),
        "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
        "use_tls": use_tls,
        "use_ssl": use_ssl,
        "timeout": 10,  # the page that sends waits for the server: not for ever
    }
    if os.environ.get("EMAIL_PORT"):
        options["port"] = int(os.environ["EMAIL_PORT"])
    return {"default": {"BACKEND": backend, "OPTIONS": options}}


# E-mail, for password resets only. Without EMAIL_HOST (an SMTP server) or EMAIL_BACKEND
# (e.g. "console" while developing) there is no mailer: the app sends no e-mail and offers no
# password reset (crm/accounts.py), so Django's warning that no mailer is set says nothing.
MAILERS = _mailers()
# The consent indexes hold the contacts' status for PostgreSQL to count from them alone
# (contacts.Contact.Meta); SQLite has them without it, which Django warns of (W040).
SILENCED_SYSTEM_CHECKS = ["mail.W001", "models.W040"]
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")
# Reset e-mails an hour for one e-mail address, and from one client address.
PASSWORD_RESET_LIMIT = int(os.environ.get("PASSWORD_RESET_LIMIT", "5"))

# No inline script or style anywhere: everything comes from our own static files.
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF],
    "connect-src": [CSP.SELF],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "object-src": [CSP.NONE],
}
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-gb"
# How dates are written (crm/formats/en_GB/formats.py): pages use the names, not the letters.
FORMAT_MODULE_PATH = "crm.formats"
TIME_ZONE = os.environ.get("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# Production: `manage.py collectstatic` fills STATIC_ROOT, and whitenoise serves it.
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# Background work (broadcast sending) runs through Django's tasks framework, stored in the
# database and run by `manage.py worker` (django-tasks-db's db_worker, see broadcasts).
TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}

# Phone numbers written without a country code are read as numbers of this region.
PHONE_REGION = os.environ.get("PHONE_REGION", "US")

DEMO_PASSWORD = os.environ.get("DEMO_PASSWORD", "demo-crm-2026")

# The messaging provider. console: prints each message and keeps an outbox; locmem: for
# tests; twilio: real sending with the credentials below.
MESSAGING_BACKEND = os.environ.get("MESSAGING_BACKEND", "console")
TWILIO_ACCOUNT_SID = os.environ.get("TWILIO_ACCOUNT_SID", "")
# Webhook signatures are checked with this token. While DEBUG is on, a development token lets
# `manage.py simulate_inbound` sign its requests.
DEVELOPMENT_AUTH_TOKEN = "development-auth-token"
TWILIO_AUTH_TOKEN = os.environ.get("TWILIO_AUTH_TOKEN", "").strip()
if not TWILIO_AUTH_TOKEN:
    if not DEBUG:
        # Without it every webhook would be checked against an empty token, which anyone can
        # sign with: a START from anyone would lift a hard opt-out.
        raise ImproperlyConfigured(
            "Set TWILIO_AUTH_TOKEN when DEBUG is off: the provider's webhooks are checked "
            "with it (your Twilio console, Account Info)."
        )
    TWILIO_AUTH_TOKEN = DEVELOPMENT_AUTH_TOKEN
TWILIO_FROM_NUMBER = os.environ.get("TWILIO_FROM_NUMBER", "")
TWILIO_MESSAGING_SERVICE_SID = os.environ.get("TWILIO_MESSAGING_SERVICE_SID", "")
TWILIO_API_BASE_URL = os.environ.get("TWILIO_API_BASE_URL", "")  # a stand-in, for tests
TWILIO_TIMEOUT = float(os.environ.get("TWILIO_TIMEOUT", "10"))
# Checking signatures cannot be turned off while DEBUG is off.
TWILIO_VALIDATE_SIGNATURES = env_bool("TWILIO_VALIDATE_SIGNATURES", True) or not DEBUG

# The address the app is served at: where the provider reaches it (the URLs written into
# outbound calls and status callbacks) and where `simulate_inbound` posts. By default, where
# `make run` serves, which takes HOST and PORT from the command line or the environment (a
# server on every interface is reached here at 127.0.0.1, one of ALLOWED_HOSTS).
_RUN_HOST = os.environ.get("HOST", "").strip()
_RUN_HOST = "127.0.0.1" if _RUN_HOST in ("", "0.0.0.0", "::", "[::]") else _RUN_HOST
PUBLIC_URL = os.environ.get("PUBLIC_URL", "").strip() or (
    f"http://{_RUN_HOST}:{os.environ.get('PORT', '').strip() or '8000'}"
)
if not DEBUG and MESSAGING_BACKEND == "twilio" and not os.environ.get("PUBLIC_URL", "").strip():
    # Left to `make run`'s address, every call would send its unsubscribe key to 127.0.0.1,
    # where Twilio reaches nothing: the key would stop no call.
    raise ImproperlyConfigured(
        "Set PUBLIC_URL when DEBUG is off and MESSAGING_BACKEND is twilio: the address Twilio "
        "reaches the app at (https://crm.example.com), to which every call sends its "
        "unsubscribe key and every message its status."
    )
# Who is writing and how to reach them: carriers require both in the reply to HELP. The
# contact is a phone number, an e-mail address or a web address.
# The demo's, until they are set (`check --deploy` warns).
DEMO_BUSINESS_NAME, DEMO_BUSINESS_CONTACT = "Demo Dental", "(415) 555-9999"
BUSINESS_NAME = os.environ.get("BUSINESS_NAME", "").strip() or DEMO_BUSINESS_NAME
BUSINESS_CONTACT = os.environ.get("BUSINESS_CONTACT", "").strip() or DEMO_BUSINESS_CONTACT
# The telephone number a broadcast's call states (47 CFR 64.1200(b)(2)), other than the one
# calling; empty: BUSINESS_CONTACT, where that is a phone number.
BUSINESS_PHONE = os.environ.get("BUSINESS_PHONE", "").strip()
# The number a call names to call back and stop the calls, whose calls reach the app's voice
# webhook; empty: TWILIO_FROM_NUMBER. A marketing call's must be toll-free, which a voicemail
# must give (47 CFR 64.1200(b)(3)). The demo's, fictional, in `make run` while neither is set.
CALL_BACK_NUMBER = os.environ.get("CALL_BACK_NUMBER", "").strip()
DEMO_CALL_BACK_NUMBER = "(888) 555-0199"
# What a contact who texts a keyword to join is told, as carriers require (CTIA): which
# messages, and how often.
SMS_PROGRAM = os.environ.get("SMS_PROGRAM", "").strip() or "reminders and offers"
SMS_FREQUENCY = os.environ.get("SMS_FREQUENCY", "").strip() or "up to 4 msgs/mo"
# The business's own keywords to join by text, beside JOIN, SUBSCRIBE and START ("SMILE").
CONSENT_KEYWORDS = [word.upper() for word in env_list("CONSENT_KEYWORDS")]
# The title of the disclosure a contact saw before texting a keyword to join ("Text JOIN to…"),
# kept with each keyword consent; empty: none is kept.
KEYWORD_DISCLOSURE = os.environ.get("KEYWORD_DISCLOSURE", "").strip()
# Marketing broadcasts reach only contacts with consent on record for their channel.
MARKETING_NEEDS_CONSENT = env_bool("MARKETING_NEEDS_CONSENT", True)
# How long consent records are kept after they were recorded or made void, and while no
# contact has their number (`purge_consent_records`); at least 4 years, as the database holds
# them. The Telemarketing Sales Rule asks for 5.
CONSENT_RETENTION_YEARS = int(os.environ.get("CONSENT_RETENTION_YEARS", "5"))
# How long a link to a contact's subscriptions page stays valid (contacts.subscriptions).
SUBSCRIPTION_LINK_DAYS = int(os.environ.get("SUBSCRIPTION_LINK_DAYS", "30"))
# The keys of a phone's keypad, in its order: those a call can offer. Not an operator's
# setting; the two below are, and must each be one of these.
PHONE_KEYS = "1234567890*#"
UNSUBSCRIBE_DIGIT = os.environ.get("UNSUBSCRIBE_DIGIT", "9")
# Offered to a caller whose number opted out of calls: their new consent to calls.
RESUBSCRIBE_DIGIT = os.environ.get("RESUBSCRIBE_DIGIT", "1")
# How far a contact's own opt-out reaches (a STOP, the unsubscribe digit, a confirmed
# possible opt-out): "channel", the channel it came in; "all", every channel of the number
# (the FCC's "revoke all" rule, whose compliance date has moved: README, Configuration). From
# OPT_OUT_SCOPE_ALL_FROM (an ISO date), in UTC, it is "all" whatever OPT_OUT_SCOPE says: by
# default the rule's compliance date as the FCC last set it (DA 26-12). Read by
# contacts.models.channels_revoked; messaging.checks refuses a value it cannot read.
OPT_OUT_SCOPE = os.environ.get("OPT_OUT_SCOPE", "").strip().lower() or "channel"
OPT_OUT_SCOPE_ALL_FROM = os.environ.get("OPT_OUT_SCOPE_ALL_FROM", "").strip() or "2027-01-31"
# Broadcasts: messages a second, all workers together; and how long a message may stay
# "sending" before the reaper marks it unknown (its worker died).
BROADCAST_RATE = float(os.environ.get("BROADCAST_RATE", "10"))
# Calls a second, all workers together, within BROADCAST_RATE: the Twilio account's calls per
# second (1 unless Twilio raised it). Twilio queues faster calls, for up to 24 hours, and
# places them at that rate: a call handed over inside its recipient's window would ring
# after it closed.
CALL_RATE = float(os.environ.get("CALL_RATE", "1"))
for _name, _rate in [("BROADCAST_RATE", BROADCAST_RATE), ("CALL_RATE", CALL_RATE)]:
    if not 0 < _rate < float("inf"):
        raise ImproperlyConfigured(f"{_name}={_rate}: messages a second, more than 0.")
BROADCAST_SEND_TIMEOUT = int(os.environ.get("BROADCAST_SEND_TIMEOUT", "300"))
# Frequency limits on marketing broadcasts: at most this many broadcast messages of a channel
# per number in any 24 hours (empty: no limit of our own), and each state's limit for its
# numbers (Florida, Oklahoma and Maryland: 3 in 24 hours; README: Frequency limits).
FREQUENCY_LIMIT = int(os.environ.get("FREQUENCY_LIMIT") or 0) or None
STATE_FREQUENCY_LIMITS = {"FL": 3, "OK": 3, "MD": 3}
# A webhook's processing waits this many seconds at most for each lock it needs (PostgreSQL),
# so that it answers within Twilio's 15 seconds; an event not processed then is kept, and the
# task worker processes it once it is this many seconds old, looking every as many.
INBOUND_LOCK_TIMEOUT = float(os.environ.get("INBOUND_LOCK_TIMEOUT", "3"))
INBOUND_SWEEP_SECONDS = float(os.environ.get("INBOUND_SWEEP_SECONDS", "5"))
# The task worker sends the double opt-in prompts that are due (an import's, and those held
# for the number's quiet hours), looking every this many seconds.
HELD_PROMPTS_SECONDS = float(os.environ.get("HELD_PROMPTS_SECONDS", "60"))
# Bulk actions on more contacts than this run as a task, with a page that follows them.
BULK_INLINE_LIMIT = int(os.environ.get("BULK_INLINE_LIMIT", "10000"))
# The most numbers one reassigned numbers check asks about: the provider answers (and charges)
# each one while the page waits.
REASSIGNED_CHECK_LIMIT = int(os.environ.get("REASSIGNED_CHECK_LIMIT", "100"))
# A task applies them this many contacts a transaction, so that a STOP never waits long.
BULK_BATCH_SIZE = int(os.environ.get("BULK_BATCH_SIZE", "5000"))
# The Insights page marks a broadcast whose opt-outs (STOP, the digit, within 48 hours of it)
# are more than this percentage of its messages delivered: carriers filter senders whose
# recipients opt out a lot.
OPT_OUT_RATE_FLAG_PERCENT = float(os.environ.get("OPT_OUT_RATE_FLAG_PERCENT", "2"))
# The worker counts each channel's reach for the Insights page this often (a million contacts
# take a few seconds, more than a page should wait); the page says when they were counted.
REACH_COUNT_SECONDS = float(os.environ.get("REACH_COUNT_SECONDS", "300"))
# An export task reads this many pieces of its file at once, each on a connection of its own
# (PostgreSQL; on SQLite, one: its pieces are written in Python). bench/NOTES.md has the figures.
EXPORT_WORKERS = int(os.environ.get("EXPORT_WORKERS", "2"))
# An export's file is kept this many days for its page to offer, then deleted.
EXPORT_KEEP_DAYS = int(os.environ.get("EXPORT_KEEP_DAYS", "7"))
# An import applies this many rows a transaction (more than a bulk action: each of its
# transactions has a cost of its own, in the database's triggers; bench/NOTES.md).
IMPORT_BATCH_SIZE = int(os.environ.get("IMPORT_BATCH_SIZE", "20000"))
# The Contacts table counts the contacts that match, unless PostgreSQL's planner expects that
# to cost more than this (in its cost units; just above counting a million contacts, as
# bench/NOTES.md has it): then it says its estimate, "about 1.2 million".
COUNT_COST_LIMIT = float(os.environ.get("COUNT_COST_LIMIT", "50000"))
# How many workers may share one broadcast (one task each).
BROADCAST_WORKERS = int(os.environ.get("BROADCAST_WORKERS", "3"))
# Quiet hours: the local times between which broadcast messages may go, by the recipient's
# US state (postal code), and "default" for everywhere else. A pair for every day, or a dict
# by weekday ("Mon-Sat", "Sun"; None: nothing that day). Sources in the README (Quiet
# hours); contacts/quiet_hours.py applies them, and `manage.py check` checks them.
QUIET_HOURS_DEFAULT = {
    "default": ("08:00", "21:00"),  # federal: 47 CFR 64.1200(c)(1)
    "FL": ("08:00", "20:00"),
    "OK": ("08:00", "20:00"),
    "MD": ("08:00", "20:00"),
    "WA": ("08:00", "20:00"),
    "TX": {"Mon-Sat": ("09:00", "21:00"), "Sun": ("12:00", "21:00")},
}
# QUIET_HOURS=off in the environment turns them off, for a deployment whose every broadcast
# is exempt (`check --deploy` warns); the test suite's processes, which send at any hour.
QUIET_HOURS = None if os.environ.get("QUIET_HOURS") == "off" else QUIET_HOURS_DEFAULT
for _name, _digit in [
    ("UNSUBSCRIBE_DIGIT", UNSUBSCRIBE_DIGIT),
    ("RESUBSCRIBE_DIGIT", RESUBSCRIBE_DIGIT),
]:
    if len(_digit) != 1 or _digit not in PHONE_KEYS:
        raise ImproperlyConfigured(f"{_name}={_digit!r}: use one key, 0-9, * or #.")
if RESUBSCRIBE_DIGIT == UNSUBSCRIBE_DIGIT:
    raise ImproperlyConfigured("RESUBSCRIBE_DIGIT and UNSUBSCRIBE_DIGIT must be different keys.")

# Behind a TLS-terminating proxy that sets X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
if not DEBUG:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", 60 * 60 * 24 * 365))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    # django-axes logs every login at INFO; lockouts, which matter, come at WARNING.
    "loggers": {"axes": {"level": "WARNING"}},
}
