"""Patching openai's ``create`` methods, and undoing it."""

from __future__ import annotations

import functools
import importlib
import threading
from collections.abc import Callable
from typing import Any

from ._call import ModelCall

__all__ = ["install", "installed_client", "uninstall"]

# (module, class, Sentry's operation name, async): the methods that call a model. The Responses
# API exists from openai 1.66 on; a class an older openai lacks is skipped.
_TARGETS = (
    ("openai.resources.chat", "Completions", "chat", False),
    ("openai.resources.chat", "AsyncCompletions", "chat", True),
    ("openai.resources.responses", "Responses", "responses", False),
    ("openai.resources.responses", "AsyncResponses", "responses", True),
)


class _Installation:
    """The Raven client the wrappers report to (None once uninstalled: a wrapper openai bound
    elsewhere, e.g. in a ``with_raw_response`` object, then just calls the original) and the
    methods it replaced."""

    __slots__ = ("client", "originals")

    def __init__(self, client: Any) -> None:
        self.client: Any = client
        self.originals: list[tuple[type, Callable[..., Any]]] = []


_installation: _Installation | None = None
_lock = threading.Lock()


def install(client: Any) -> None:
    """Report every openai chat completion and response to ``client`` (a :class:`raven.Client`).

    Idempotent: installing again patches nothing more (each call still gets one span) and only
    switches the client reported to.
    """
    global _installation
    with _lock:
        if _installation is not None:
            _installation.client = client
            return
        installation = _Installation(client)
        for module_name, class_name, operation, is_async in _TARGETS:
            try:
                cls = getattr(importlib.import_module(module_name), class_name)
            except (ImportError, AttributeError):
                continue
            original = cls.__dict__["create"]
            wrap = _wrap_async if is_async else _wrap
            setattr(cls, "create", wrap(original, operation, installation))  # noqa: B010
            installation.originals.append((cls, original))
        _installation = installation


def uninstall() -> None:
    """Restore openai's methods; nothing is reported from now on. Safe to call when not
    installed."""
    global _installation
    with _lock:
        installation, _installation = _installation, None
        if installation is None:
            return
        installation.client = None
        for cls, original in installation.originals:
            setattr(cls, "create", original)  # noqa: B010


def installed_client() -> Any:
    """The Raven client openai calls are reported to, or None when not installed."""
    installation = _installation
    return None if installation is None else installation.client


def _wrap(
    original: Callable[..., Any], operation: str, installation: _Installation
) -> Callable[..., Any]:
    @functools.wraps(original)
    def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = installation.client
        if client is None:
            return original(self, *args, **kwargs)
        call = ModelCall.start(client, operation, kwargs)
        try:
            result = original(self, *args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            raise
        return call.returned(result)

    return create


def _wrap_async(
    original: Callable[..., Any], operation: str, installation: _Installation
) -> Callable[..., Any]:
    @functools.wraps(original)
    async def create(self: Any, *args: Any, **kwargs: Any) -> Any:
        client = installation.client
        if client is None:
            return await original(self, *args, **kwargs)
        call = ModelCall.start(client, operation, kwargs)
        try:
            result = await original(self, *args, **kwargs)
        except Exception as exc:
            call.failed(exc)
            raise
        return call.returned(result)

    return create
