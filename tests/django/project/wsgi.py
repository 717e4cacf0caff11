from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application
from raven_django.middleware.wsgi import Sentry

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.django.project.settings")

application = Sentry(get_wsgi_application())
