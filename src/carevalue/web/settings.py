"""Django settings, read from the environment (the only configuration the app has).

- ``CAREVALUE_SECRET_KEY``: required in production; demo and development use a fixed key
  that is only safe on 127.0.0.1 with synthetic data.
- ``CAREVALUE_PRODUCTION=1``: secure cookies, HSTS, HTTPS redirect (``check --deploy``
  is clean under it); ``CAREVALUE_DEBUG=1`` for development only.
- ``CAREVALUE_ALLOWED_HOSTS``: comma-separated (default ``127.0.0.1,localhost``).
- ``DATABASE_URL``: the app's own database (users, roles, audit); SQLite at
  ``var/web.sqlite3`` when unset, PostgreSQL with ``postgres://…``.
- ``CAREVALUE_SNAPSHOTS`` / ``CAREVALUE_WAREHOUSE``: which run snapshots the app shows
  (docs/snapshots.md); the app never opens the warehouse itself.
"""

from __future__ import annotations

import os
from pathlib import Path

import dj_database_url

from carevalue.errors import UserError

HERE = Path(__file__).resolve().parent


def _flag(name: str) -> bool:
    return os.environ.get(name, "").strip().lower() in {"1", "true", "yes", "on"}


PRODUCTION = _flag("CAREVALUE_PRODUCTION")
DEBUG = _flag("CAREVALUE_DEBUG") and not PRODUCTION
DEMO_SECRET = "carevalue-demo-secret-key-only-for-127.0.0.1-and-synthetic-data-0123456789"
SECRET_KEY = os.environ.get("CAREVALUE_SECRET_KEY", "")
if not SECRET_KEY:
    if PRODUCTION:
        raise UserError(
            "CAREVALUE_PRODUCTION is set but CAREVALUE_SECRET_KEY is not; set it to a long "
            "random secret (e.g. python -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    SECRET_KEY = DEMO_SECRET

ALLOWED_HOSTS = [
    h.strip()
    for h in os.environ.get("CAREVALUE_ALLOWED_HOSTS", "127.0.0.1,localhost").split(",")
    if h.strip()
]

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "carevalue.web.apps.CareValueWebConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    # last, as django-axes asks: it turns a locked-out login into the lockout response
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "carevalue.web.urls"
WSGI_APPLICATION = "carevalue.web.wsgi.application"

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
                "carevalue.web.context.site",
            ],
        },
    }
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL")
        or f"sqlite:///{Path(os.environ.get('CAREVALUE_WEB_DB', 'var/web.sqlite3')).resolve()}",
        conn_max_age=60,
    )
}
if DATABASES["default"]["ENGINE"].endswith("sqlite3"):
    # Several gunicorn threads write audit events: wait for the lock rather than fail.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Lockout: five failed logins for one user name lock it for an hour.
AXES_FAILURE_LIMIT = int(os.environ.get("CAREVALUE_LOCKOUT_FAILURES", "5"))
AXES_COOLOFF_TIME = 1
AXES_LOCKOUT_PARAMETERS = ["username"]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "carevalue/locked_out.html"
AXES_VERBOSE = False
# axes.W006 asks for the IP address as a lockout parameter; locking by user name already
# stops guessing one account's password from any address, and an IP lock would lock out a
# whole hospital behind one NAT address.
SILENCED_SYSTEM_CHECKS = ["axes.W006"]

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 8 * 60 * 60  # one working day
SESSION_EXPIRE_AT_BROWSER_CLOSE = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_SSL_REDIRECT = not _flag("CAREVALUE_BEHIND_PROXY_HTTP")
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

# Everything from this server: no CDN (hospital networks often block them). Plotly sets
# inline styles on its SVG, so styles allow 'unsafe-inline'; scripts never do.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "font-src": ["'self'"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
        "frame-ancestors": ["'none'"],
    }
}

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("CAREVALUE_STATIC_ROOT", "var/static")).resolve()
# Served by whitenoise straight from the app's folders, so no collectstatic is needed to
# start; `carevalue serve` still collects them once for compressed, cached files.
WHITENOISE_USE_FINDERS = True
WHITENOISE_MAX_AGE = 3600

LANGUAGE_CODE = "en-gb"
TIME_ZONE = "Europe/London"
USE_I18N = False
USE_TZ = True

# Logs carry no patient-level values: requests are logged by path only, never query
# strings or bodies (django.request logs errors with the path).
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"django": {"handlers": ["console"], "level": "WARNING"}},
}

CAREVALUE_DEMO = _flag("CAREVALUE_DEMO")
