"""Billfold settings: everything comes from environment variables.

SQLite in ``BILLFOLD_DATA_DIR`` by default; PostgreSQL when ``DATABASE_URL`` is set.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlparse

BASE_DIR = Path(__file__).resolve().parent
DATA_DIR = Path(os.environ.get("BILLFOLD_DATA_DIR", Path.cwd() / "data")).resolve()


def _env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def _secret_key() -> str:
    """The SECRET_KEY from the environment, else one generated once and kept in the data folder."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    key = secrets.token_urlsafe(50)
    # O_EXCL: when two processes start at once, one writes and the other reads what it wrote.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as handle:
        handle.write(key)
    return key


def _database(url: str | None) -> dict[str, Any]:
    if not url:
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        return {
            # Django's SQLite backend with writers queued on a file lock (core/sqlite/base.py).
            "ENGINE": "billfold.core.sqlite",
            "NAME": str(DATA_DIR / "billfold.sqlite3"),
            # Each server thread keeps its connection: opening one (and running the PRAGMAs
            # below) on every request cost ~40% of the API's throughput (bench/README.md).
            "CONN_MAX_AGE": None,
            "OPTIONS": {
                # Writers take the lock when their transaction starts, so concurrent writers
                # queue behind the busy timeout instead of failing on lock upgrade.
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": (
                    "PRAGMA journal_mode=WAL;"
                    "PRAGMA synchronous=FULL;"
                    "PRAGMA foreign_keys=ON;"
                    "PRAGMA cache_size=-32000;"
                    "PRAGMA mmap_size=268435456;"
                ),
            },
            # A file, not memory, so live-server tests see real concurrent connections.
            "TEST": {"NAME": os.environ.get("BILLFOLD_TEST_SQLITE") or str(DATA_DIR / "test.sqlite3")},
        }
    parsed = urlparse(url)
    if parsed.scheme not in {"postgres", "postgresql"}:
        raise ValueError(f"DATABASE_URL must start with postgres:// or postgresql://, not {parsed.scheme}://")
    options: dict[str, Any] = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parsed.path.lstrip("/")) or "billfold",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": parsed.hostname or "",
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": int(os.environ.get("DATABASE_CONN_MAX_AGE", "60")),
        "CONN_HEALTH_CHECKS": True,
        "OPTIONS": options,
        # Two test runs on one server (say, two checkouts) each need their own test database.
        "TEST": {"NAME": os.environ.get("BILLFOLD_TEST_PG_NAME") or None},
    }


SECRET_KEY = _secret_key()
DEBUG = _env_bool("DEBUG", False)
ALLOWED_HOSTS = _env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
# The address customers and developers reach Billfold at; used for links in URLs and emails.
SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
# The name customers see until one is set in the dashboard's branding (then that one wins).
BILLFOLD_BUSINESS_NAME = os.environ.get("BILLFOLD_BUSINESS_NAME", "").strip() or None

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "billfold.core",
    "billfold.accounts",
    "billfold.events",
    "billfold.files",
    "billfold.clocks",
    "billfold.catalog",
    "billfold.branding",
    "billfold.customers",
    "billfold.payments",
    "billfold.billing",
    "billfold.emails",
    "billfold.portal",
    "billfold.api",
    "billfold.cli",
    # The merchant dashboard (views, forms, templates and static files; no models).
    "billfold.dashboard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files straight from the app's static/ folders (no collectstatic step, no separate web server).
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # /v1 requests go straight to their view from here: the middleware below is for browsers.
    "billfold.api.middleware.ApiRequestsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "billfold.urls"
WSGI_APPLICATION = "billfold.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {"default": _database(os.environ.get("DATABASE_URL"))}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Each process keeps what it can rebuild from the database (rendered portal pages, upcoming-invoice
# previews, the brand's theme) under keys that change with what they were built from, so nothing
# needs sharing between processes. ~2,000 entries of a few kB at most.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
        "OPTIONS": {"MAX_ENTRIES": 2000},
    }
}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # WhiteNoise looks there too
# Files are found in each app's static/ folder at request time; they are few and cached by browsers.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Behind HTTPS (SITE_URL starts with https://) cookies are marked secure.
_HTTPS = SITE_URL.startswith("https://")
SESSION_COOKIE_SECURE = _HTTPS
CSRF_COOKIE_SECURE = _HTTPS
SESSION_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if _env_bool("BEHIND_PROXY", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Uploaded images (product images, later branding): largest accepted size in bytes.
BILLFOLD_MAX_IMAGE_BYTES = 2 * 1024 * 1024
# How long an Idempotency-Key and its stored response are kept, in seconds.
BILLFOLD_IDEMPOTENCY_TTL = 24 * 60 * 60
# The payment processor new cards go to, by name ("test": the built-in test card processor).
BILLFOLD_PROCESSOR = os.environ.get("BILLFOLD_PROCESSOR", "test")
# When a failed automatic invoice payment is tried again: the retries' delays after the first failed
# attempt, comma-separated, each a number with h (hours) or d (days). The default makes 8 attempts over
# 2 weeks. An empty value means no retries. Checked when Billfold starts (billfold/billing/dunning.py).
BILLFOLD_RETRY_SCHEDULE = os.environ.get("BILLFOLD_RETRY_SCHEDULE", "1d,2d,3d,5d,7d,10d,14d")
# What happens to a subscription once every attempt of its invoice has failed: "cancel" (Stripe's
# default) or "unpaid" (it is kept, marked unpaid, until its open invoice is paid).
BILLFOLD_DUNNING_FINAL_ACTION = os.environ.get("BILLFOLD_DUNNING_FINAL_ACTION", "cancel")
# How many days before a subscription's next invoice (renewal or trial end) invoice.upcoming is written,
# Stripe's "Upcoming renewal events" setting; 0 turns it off. Checked when Billfold starts.
BILLFOLD_UPCOMING_RENEWAL_DAYS = os.environ.get("BILLFOLD_UPCOMING_RENEWAL_DAYS", "7")

# --- Emails (billfold/emails): what is sent, and how ---
# The kinds of email sent, comma-separated (billfold/emails/kinds.py); unset: all of them.
BILLFOLD_EMAILS = _env_list(
    "BILLFOLD_EMAILS", ["receipt", "payment_failed", "upcoming_renewal", "trial_ending", "passcode"]
)
# Who may receive test-mode emails: addresses, @domains, or * for everyone; empty: nobody.
BILLFOLD_TEST_EMAIL_RECIPIENTS = _env_list("BILLFOLD_TEST_EMAIL_RECIPIENTS", ["*"])
_EMAIL_BACKENDS = {
    "smtp": "django.core.mail.backends.smtp.EmailBackend",
    "console": "django.core.mail.backends.console.EmailBackend",
    "file": "django.core.mail.backends.filebased.EmailBackend",
}
# "file" by default: mail is written to data/outbox/ (one file per batch), so nothing leaves the machine
# until SMTP is configured; "console" prints it to the worker's output.
_email_backend = os.environ.get("BILLFOLD_EMAIL_BACKEND", "file").strip().lower()
if _email_backend not in _EMAIL_BACKENDS:
    raise ValueError(f"BILLFOLD_EMAIL_BACKEND must be one of {', '.join(_EMAIL_BACKENDS)}, not {_email_backend!r}")
EMAIL_BACKEND = _EMAIL_BACKENDS[_email_backend]
EMAIL_FILE_PATH = str(DATA_DIR / "outbox")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = _env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = _env_bool("EMAIL_USE_SSL", False)
# Seconds to wait on the SMTP server; a hung server delays mail (retried later) instead of stalling the sender.
EMAIL_TIMEOUT = float(os.environ.get("EMAIL_TIMEOUT", "10"))
# The sender. A bare address gets the business name as its display name (billfold/emails/sending.py);
# the default address is billing@ the SITE_URL's host (billing@localhost for an IP address or a single label).
_site_host = (urlparse(SITE_URL).hostname or "localhost").strip("[]")
_mail_host = _site_host if "." in _site_host and not _site_host.replace(".", "").isdigit() else "localhost"
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL") or f"billing@{_mail_host}"
# Webhook deliveries (billfold/events/delivery.py): seconds to wait for an endpoint to connect and for
# each read of its answer; whether live-mode endpoints may resolve to private or loopback addresses
# (test mode always may: developers receive on localhost); how many threads of `billfold worker` send.
BILLFOLD_WEBHOOK_TIMEOUT = float(os.environ.get("BILLFOLD_WEBHOOK_TIMEOUT", "10"))
BILLFOLD_WEBHOOK_ALLOW_PRIVATE = _env_bool("BILLFOLD_WEBHOOK_ALLOW_PRIVATE", False)
BILLFOLD_WEBHOOK_THREADS = int(os.environ.get("BILLFOLD_WEBHOOK_THREADS", "4"))

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # 4xx answers are refusals the client is told about, not server problems.
    "loggers": {
        "django.request": {"level": "ERROR"},
        # The PDF renderer reports CSS it skips and font fallbacks on every invoice; only its errors matter.
        "weasyprint": {"level": "ERROR"},
        "fontTools": {"level": "ERROR"},
    },
}
