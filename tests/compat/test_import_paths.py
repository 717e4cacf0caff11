"""raven-python 6.10's import paths resolve to Raven's modules, each with a DeprecationWarning
naming its new place; the core imports no framework package until an old name is used."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

# (module, name, where it lives now)
MOVED = [
    ("raven.base", "Client", "raven.Client"),
    ("raven.contrib.flask", "Sentry", "raven_flask.compat.Sentry"),
    ("raven.contrib.celery", "register_signal", "raven_celery.register_signal"),
    ("raven.contrib.celery", "register_logger_signal", "raven_celery.register_logger_signal"),
    ("raven.contrib.tornado", "AsyncSentryClient", "raven_tornado.AsyncSentryClient"),
    ("raven.contrib.tornado", "SentryMixin", "raven_tornado.SentryMixin"),
    ("raven.contrib.awslambda", "LambdaClient", "raven_lambda.LambdaClient"),
    ("raven.contrib.sanic", "Sentry", "raven_sanic.Sentry"),
    ("raven.contrib.django", "DjangoClient", "raven_django.DjangoClient"),
    ("raven.contrib.django.models", "client", "raven_django.models.client"),
    ("raven.contrib.django.handlers", "SentryHandler", "raven_django.handlers.SentryHandler"),
    (
        "raven.contrib.django.middleware",
        "SentryResponseErrorIdMiddleware",
        "raven_django.middleware.SentryResponseErrorIdMiddleware",
    ),
    ("raven.contrib.django.raven_compat.models", "client", "raven_django.models.client"),
    ("raven.utils.stacks", "iter_traceback_frames", "raven.stacks.iter_traceback_frames"),
    ("raven.utils.serializer", "transform", "raven.serializer.transform"),
    ("raven.utils.wsgi", "get_host", "raven.httpdata.get_host_from_environ"),
]


@pytest.mark.parametrize(("module", "name", "new"), MOVED, ids=lambda v: str(v))
def test_old_name_resolves_with_a_warning_naming_the_new_one(
    module: str, name: str, new: str
) -> None:
    """Each old name is the new object, and using it warns with the new name."""
    mod = importlib.import_module(module)
    with pytest.warns(DeprecationWarning, match=new.replace(".", r"\.")):
        obj = getattr(mod, name)
    new_module, _, new_name = new.rpartition(".")
    assert obj is getattr(importlib.import_module(new_module), new_name)


def test_events_transport_and_utils_names_exist_with_a_warning() -> None:
    """raven-python's event classes, transports and utils are importable and warn."""
    names = {
        "raven.events": ["BaseEvent", "Exception", "Message", "Query"],
        "raven.transport": ["AsyncTransport", "ThreadedHTTPTransport", "RequestsHTTPTransport"],
        "raven.transport.base": ["AsyncTransport"],
        "raven.transport.threaded": ["ThreadedHTTPTransport"],
        "raven.utils": ["get_auth_header", "varmap"],
        "raven.utils.stacks": ["iter_stack_frames", "get_stack_info"],
        "raven.utils.json": ["dumps", "loads"],
        "raven.utils.encoding": ["to_unicode", "to_string"],
        "raven.utils.urlparse": ["urlparse"],
        "raven.utils.wsgi": ["get_current_url", "get_headers"],
    }
    for module, attrs in names.items():
        mod = importlib.import_module(module)
        for attr in attrs:
            with pytest.warns(DeprecationWarning, match="raven-python"):
                assert getattr(mod, attr) is not None
    from raven.transport.exceptions import DuplicateScheme, InvalidScheme
    from raven.transport.http import HTTPTransport
    from raven.transport.requests import RequestsHTTPTransport

    assert issubclass(RequestsHTTPTransport, HTTPTransport)
    assert issubclass(InvalidScheme, ValueError) and DuplicateScheme is not None


def test_conf_is_a_package_keeping_its_names() -> None:
    """``raven.conf`` keeps ``setup_logging`` and gains ``raven.conf.remote.RemoteConfig``."""
    from raven.conf import EXCLUDE_LOGGER_DEFAULTS, setup_logging

    with pytest.warns(DeprecationWarning, match=r"use raven\.Dsn"):
        from raven.conf.remote import RemoteConfig

    assert callable(setup_logging) and "raven" in EXCLUDE_LOGGER_DEFAULTS
    assert RemoteConfig.from_string("https://k@host/1").project == "1"


def test_core_imports_no_framework_package() -> None:
    """Importing raven and its contrib modules loads no framework package; a missing one is
    named when an old name is used."""
    code = (
        "import sys, raven, raven.contrib, raven.contrib.flask, raven.contrib.django.models\n"
        "import raven.utils, raven.conf.remote, raven.base\n"
        "loaded = [m for m in ('flask', 'django', 'celery', 'tornado', 'sanic', 'raven_flask',"
        " 'raven_django') if m in sys.modules]\n"
        "assert not loaded, loaded\n"
        "sys.modules['raven_flask'] = None\n"
        "try:\n"
        "    raven.contrib.flask.Sentry\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run(
        [sys.executable, "-W", "ignore::DeprecationWarning", "-c", code],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "pip install raven-flask" in out
