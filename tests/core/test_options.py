"""Client options: validation at construction, ``SENTRY_*`` environment variables, the disabled
client, and the release helpers."""

from __future__ import annotations

import importlib.metadata
import logging
import shutil
import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import raven
from raven.exceptions import ConfigurationError
from raven.versioning import InvalidGitRepository

from .conftest import Harness

DSN = "https://k@host.invalid/1"


def make(**options: Any) -> raven.Client:
    return raven.Client(DSN, install_sys_hook=False, **options)


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("sample_rate", "often", "a number"),
        ("sample_rate", True, "a number"),
        ("sample_rate", 1.5, "between 0 and 1"),
        ("sample_rate", -0.1, "between 0 and 1"),
        ("string_max_length", "long", "an integer"),
        ("string_max_length", 0, "positive integer"),
        ("list_max_length", 2.5, "an integer"),
        ("list_max_length", 0, "positive integer"),
        ("max_stack_frames", 0, "positive integer"),
        ("capture_locals", "maybe", "a boolean"),
        ("send_default_pii", 2, "a boolean"),
        ("enable_breadcrumbs", [], "a boolean"),
        ("context_lines", -1, ">= 0"),
        ("context_lines", "five", "an integer"),
        ("max_breadcrumbs", -1, ">= 0"),
        ("tags", ["a", "b"], "a dict"),
        ("ignore_exceptions", 5, "a list of strings"),
        ("include_paths", 3, "a list of strings"),
        ("hook_libraries", 4, "a list of strings"),
        ("release", 5, "a string"),
        ("environment", ["prod"], "a string"),
        ("server_name", 3, "a string"),
        ("before_send", "not callable", "callable"),
        ("before_breadcrumb", 3, "callable"),
        ("timeout", 0, "> 0"),
        ("timeout", "soon", "a number"),
        ("shutdown_timeout", -1, ">= 0"),
        ("max_request_body_size", "huge", "'never', 'small', 'medium', 'always'"),
        ("processors", ["no.such.Processor"], "cannot load"),
    ],
)
def test_wrong_type_or_range_names_the_option(option: str, value: Any, expected: str) -> None:
    """A wrong type or out-of-range value fails at construction, naming the option and the expectation."""
    with pytest.raises(ConfigurationError) as info:
        make(**{option: value})
    message = str(info.value)
    assert repr(option) in message
    assert expected in message


def test_unknown_option_is_rejected() -> None:
    """A misspelt option name is an error, not silently ignored."""
    with pytest.raises(ConfigurationError, match="unknown client option 'sample_rat'"):
        make(sample_rat=0.5)


def test_configuration_error_is_a_value_error() -> None:
    """Configuration errors are ValueErrors, so existing ``except ValueError`` code still catches them."""
    with pytest.raises(ValueError):
        make(sample_rate=3)


def test_options_are_coerced_and_frozen() -> None:
    """Numeric strings and single strings are coerced; the options object cannot be changed."""
    client = make(
        string_max_length="120",
        sample_rate="0.5",
        ignore_exceptions="KeyError",
        capture_locals="false",
        tags={"a": "b"},
    )
    try:
        opts = client.options
        assert opts.string_max_length == 120 and opts.sample_rate == 0.5
        assert opts.ignore_exceptions == ("KeyError",) and opts.capture_locals is False
        with pytest.raises(AttributeError):
            opts.sample_rate = 1.0  # type: ignore[misc]
    finally:
        client.close()


def test_defaults() -> None:
    """Defaults match the documented ones (sample everything, 100 crumbs, medium bodies, no PII)."""
    client = make()
    try:
        opts = client.options
        assert opts.sample_rate == 1.0 and opts.max_breadcrumbs == 100
        assert opts.max_request_body_size == "medium" and opts.send_default_pii is False
        assert opts.capture_locals is True and opts.context_lines == 5
        assert opts.server_name == socket.gethostname()
    finally:
        client.close()


def test_release_and_environment_from_env(monkeypatch: pytest.MonkeyPatch, sentry: Harness) -> None:
    """``SENTRY_RELEASE`` and ``SENTRY_ENVIRONMENT`` fill the event's release and environment."""
    monkeypatch.setenv("SENTRY_RELEASE", "1.2.3")
    monkeypatch.setenv("SENTRY_ENVIRONMENT", "staging")
    client = sentry.client()
    client.captureMessage("env")
    event = sentry.event()
    assert (event["release"], event["environment"]) == ("1.2.3", "staging")


def test_arguments_win_over_env(monkeypatch: pytest.MonkeyPatch, sentry: Harness) -> None:
    """Explicit ``release``/``environment`` arguments win over the environment variables."""
    monkeypatch.setenv("SENTRY_RELEASE", "from-env")
    monkeypatch.setenv("SENTRY_ENVIRONMENT", "from-env")
    client = sentry.client(release="arg-release", environment="arg-env", server_name="web-7")
    client.captureMessage("args")
    event = sentry.event()
    assert (event["release"], event["environment"], event["server_name"]) == (
        "arg-release",
        "arg-env",
        "web-7",
    )


@pytest.fixture
def restore_raven_logger() -> Iterator[logging.Logger]:
    """Undo what ``debug=True`` does to the ``raven`` logger (level and stderr handler)."""
    raven_logger = logging.getLogger("raven")
    level, handlers = raven_logger.level, list(raven_logger.handlers)
    yield raven_logger
    raven_logger.setLevel(level)
    for handler in list(raven_logger.handlers):
        if handler not in handlers:
            raven_logger.removeHandler(handler)


@pytest.mark.parametrize(
    ("value", "expected"), [("1", True), ("true", True), ("0", False), ("off", False)]
)
def test_debug_from_env(
    monkeypatch: pytest.MonkeyPatch,
    restore_raven_logger: logging.Logger,
    value: str,
    expected: bool,
) -> None:
    """``SENTRY_DEBUG`` turns debug logging on (the raven logger goes to DEBUG) or off."""
    monkeypatch.setenv("SENTRY_DEBUG", value)
    client = make()
    try:
        assert client.options.debug is expected
        if expected:
            assert restore_raven_logger.isEnabledFor(logging.DEBUG)
    finally:
        client.close()


def test_bad_debug_env_value_names_the_option(monkeypatch: pytest.MonkeyPatch) -> None:
    """An unparseable ``SENTRY_DEBUG`` fails naming the ``debug`` option."""
    monkeypatch.setenv("SENTRY_DEBUG", "perhaps")
    with pytest.raises(ConfigurationError, match="'debug'"):
        make()


def test_no_dsn_means_disabled(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture, receiver: Any
) -> None:
    """Without DSN or ``SENTRY_DSN`` the client is disabled: captures return None, nothing is sent."""
    monkeypatch.delenv("SENTRY_DSN", raising=False)
    with caplog.at_level(logging.DEBUG, logger="raven"):
        client = raven.Client(install_sys_hook=False)
    try:
        assert not client.is_enabled()
        disabled = [r for r in caplog.records if "disabled" in r.getMessage()]
        assert len(disabled) == 1 and disabled[0].levelno == logging.DEBUG
        try:
            raise ValueError("nobody hears this")
        except ValueError:
            assert client.captureException() is None
        assert client.captureMessage("nor this") is None
        assert client.captureQuery("SELECT 1") is None
        assert client.capture("raven.events.Message", message="nor that") is None
        assert client.last_event_id is None
        assert client.flush(1) is True
    finally:
        client.close()
    assert receiver.requests == []


def test_empty_dsn_env_means_disabled(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty ``SENTRY_DSN`` counts as no DSN."""
    monkeypatch.setenv("SENTRY_DSN", "  ")
    client = raven.Client(install_sys_hook=False)
    assert not client.is_enabled()
    client.close()


def test_fetch_package_version() -> None:
    """``fetch_package_version`` reads an installed distribution's version."""
    assert raven.fetch_package_version("raven-core") == raven.__version__
    assert raven.fetch_package_version("requests") == importlib.metadata.version("requests")
    with pytest.raises(importlib.metadata.PackageNotFoundError):
        raven.fetch_package_version("no-such-distribution-raven-test")


def _git(path: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-C", str(path), *args],
        check=True,
        capture_output=True,
        text=True,
        env={
            "GIT_AUTHOR_NAME": "t",
            "GIT_AUTHOR_EMAIL": "t@t",
            "GIT_COMMITTER_NAME": "t",
            "GIT_COMMITTER_EMAIL": "t@t",
            "HOME": str(path),
            "PATH": "/usr/bin:/bin",
        },
    ).stdout.strip()


def test_fetch_git_sha_of_a_real_repository(tmp_path: Path) -> None:
    """``fetch_git_sha`` returns the checked-out commit, from loose and from packed refs."""
    assert shutil.which("git"), "git is needed on the test machine"
    _git(tmp_path, "init", "-q", "-b", "main")
    (tmp_path / "f.txt").write_text("x")
    _git(tmp_path, "add", "f.txt")
    _git(tmp_path, "commit", "-q", "-m", "one")
    sha = _git(tmp_path, "rev-parse", "HEAD")
    assert raven.fetch_git_sha(str(tmp_path)) == sha
    assert raven.fetch_git_sha(str(tmp_path), head="main") == sha
    _git(tmp_path, "pack-refs", "--all")
    assert not (tmp_path / ".git" / "refs" / "heads" / "main").exists()
    assert raven.fetch_git_sha(str(tmp_path)) == sha
    _git(tmp_path, "checkout", "-q", "--detach")
    assert raven.fetch_git_sha(str(tmp_path)) == sha


def test_fetch_git_sha_outside_a_repository(tmp_path: Path) -> None:
    """A path without a git repository raises a ValueError naming the path."""
    with pytest.raises(InvalidGitRepository, match=str(tmp_path)):
        raven.fetch_git_sha(str(tmp_path))


def test_module_versions_are_sent(sentry: Harness) -> None:
    """Events carry the installed packages (``modules``) and the SDK's name and version."""
    client = sentry.client()
    assert client.get_module_versions()["requests"] == importlib.metadata.version("requests")
    client.captureMessage("modules")
    event = sentry.event()
    assert event["modules"]["raven-core"] == raven.__version__
    assert event["sdk"]["name"] == "raven.python" and event["sdk"]["version"] == raven.__version__
    assert {"name": "pypi:raven-core", "version": raven.__version__} in event["sdk"]["packages"]


def test_raven_python_option_spellings(sentry: Harness) -> None:
    """raven-python's ``name`` (server name) and ``site``/``site_name`` (a ``site`` tag) still work."""
    client = sentry.client(name="web-1", site_name="eu-west")
    assert client.options.server_name == "web-1" and client.options.site == "eu-west"
    client.captureMessage("spelled the old way")
    other = sentry.client(site="us-east", tags={"site": "explicit"})
    other.captureMessage("explicit tag wins")
    first, second = sentry.events(2)
    assert first["server_name"] == "web-1" and first["tags"] == {"site": "eu-west"}
    assert second["tags"] == {"site": "explicit"}
