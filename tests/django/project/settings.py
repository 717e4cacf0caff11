"""Settings of the small project the raven-django tests run against.

pytest configures Django from this module (tests/django/conftest.py); subprocesses (manage.py,
gunicorn) use it as DJANGO_SETTINGS_MODULE. They pass Raven options as JSON in RAVEN_TEST_CONFIG
and a database file in RAVEN_TEST_DB.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HERE = Path(__file__).resolve().parent

SECRET_KEY = "raven-django-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver", "127.0.0.1", "localhost"]
USE_TZ = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.sites",
    "raven_django",
    "tests.django.project",
]
MIDDLEWARE = [
    "raven_django.middleware.SentryResponseErrorIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tests.django.project.middleware.explode_on_header",
]
ROOT_URLCONF = "tests.django.project.urls"
WSGI_APPLICATION = "tests.django.project.wsgi.application"
AUTH_USER_MODEL = "project.Member"
# Sessions in signed cookies: logging in 100 users writes nothing to the database.
SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SITE_ID = 1
ADMINS = [("Admin", "admin@example.com")]

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("RAVEN_TEST_DB", ":memory:"),
    },
    "other": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"},
}
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {"context_processors": ["django.contrib.auth.context_processors.auth"]},
    }
]
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"sentry": {"level": "ERROR", "class": "raven_django.handlers.SentryHandler"}},
    "loggers": {
        "tests.django.project": {"handlers": ["sentry"], "level": "INFO", "propagate": False}
    },
}

# Outside a test Raven stays off (no DSN, and no process-wide hooks that would reach the other
# packages' tests in the same pytest run); tests point it at their receiver.
RAVEN_CONFIG = json.loads(
    os.environ.get("RAVEN_TEST_CONFIG")
    or '{"install_sys_hook": false, "enable_breadcrumbs": false}'
)
