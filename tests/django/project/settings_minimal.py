"""A project without django.contrib.auth, sessions or sites: only raven_django."""

from __future__ import annotations

import json
import os

SECRET_KEY = "raven-django-tests-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["testserver"]
USE_TZ = True
INSTALLED_APPS = ["raven_django"]
MIDDLEWARE: list[str] = []
ROOT_URLCONF = "tests.django.project.urls_minimal"
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
RAVEN_CONFIG = json.loads(os.environ.get("RAVEN_TEST_CONFIG") or "{}")
