"""Settings of the small Django shop the end-to-end tests serve with gunicorn."""

from __future__ import annotations

import os

SECRET_KEY = "raven-e2e-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
ROOT_URLCONF = "tests.e2e.apps.django_shop.urls"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    "django.contrib.sessions",
    "raven_django",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "tests.e2e.apps.django_shop.urls.HeaderUserMiddleware",
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.RemoteUserBackend"]
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": os.environ["E2E_DB"]}}
RAVEN_CONFIG = {"dsn": os.environ["E2E_DSN"], "release": "django-shop@3.1.0", "environment": "e2e"}
if os.environ.get("E2E_TRACES_SAMPLE_RATE"):
    RAVEN_CONFIG["traces_sample_rate"] = float(os.environ["E2E_TRACES_SAMPLE_RATE"])
