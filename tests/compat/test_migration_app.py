"""The migration test app: raven-python 6.10 code importing every compatibility name once and
capturing through each; every capture arrives, and every old name warned."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Iterator

import pytest
from raven.receiver import Receiver

from tests.relay import validate_event


@pytest.fixture
def legacy_app() -> Iterator[object]:
    sys.modules.pop("tests.compat.apps.legacy_app", None)
    root = logging.getLogger()
    handlers = list(root.handlers)
    yield importlib.import_module("tests.compat.apps.legacy_app")
    root.handlers[:] = handlers


def test_every_compatibility_name_captures(receiver: Receiver, legacy_app: object) -> None:
    """Each name the app captured through delivered its events, and each import warned."""
    sent = legacy_app.run(receiver.dsn)  # type: ignore[attr-defined]
    events = receiver.wait_for(13)
    for event in events:
        validate_event(event)
    arrived = {e["tags"].get("via") for e in events}
    assert sent <= arrived, sorted(sent - arrived)
    assert len(receiver.events) == 13 and "never sent" not in {e.get("message") for e in events}
    first = next(e for e in events if e.get("exception"))
    assert first["extra"]["order_ref"] == "********" and first["extra"]["app"] == "legacy"
    by_message = {e.get("message"): e for e in events}
    assert by_message["interfaces"]["user"] == {"id": "1"}
    assert by_message["logged"]["extra"]["order"] == 1
    assert by_message["logbook line"]["logger"] == "legacy.logbook"
    warned = {str(w.message).split(" is ")[0] for w in legacy_app.IMPORT_WARNINGS}  # type: ignore[attr-defined]
    assert {"raven.base.Client", "raven.contrib.flask.Sentry", "raven.events.Message"} <= warned
    assert len(warned) >= 24  # one per old name imported above
