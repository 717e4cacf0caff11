"""Grouping, case by case: real events from Raven's client, each case in a project of its own,
and the issues the server made of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import raven

from .conftest import Server


def raise_at_one_of_two_lines(line: int, kind: type[Exception] = ValueError) -> None:
    if line == 1:
        raise kind("bad input")
    raise kind("bad input")


def raise_with_value(value: str) -> None:
    raise ValueError(value)


def another_function() -> None:
    raise ValueError("bad input")


def error(
    function: Callable[..., None], *args: Any, release: str = "1.0", **capture: Any
) -> Callable[[str], None]:
    """A send: ``function(*args)`` raises and Raven's client (of ``release``) captures it."""

    def send(dsn: str) -> None:
        client = raven.Client(
            "sync+" + dsn, install_sys_hook=False, hook_libraries=(), release=release
        )
        try:
            function(*args)
        except Exception:
            assert client.captureException(**capture)
        client.close(timeout=5)

    return send


def message(text: str, *params: Any, **capture: Any) -> Callable[[str], None]:
    def send(dsn: str) -> None:
        client = raven.Client("sync+" + dsn, install_sys_hook=False, hook_libraries=())
        assert client.captureMessage(text, params=params, **capture)
        client.close(timeout=5)

    return send


CASES: dict[str, tuple[list[Callable[[str], None]], list[int]]] = {
    # case: (sends, the issues' counts, largest first)
    "same error at different lines groups": (
        [error(raise_at_one_of_two_lines, 1), error(raise_at_one_of_two_lines, 2)], [2]),
    "same error in different releases groups": (
        [error(raise_at_one_of_two_lines, 1, release="1.0"),
         error(raise_at_one_of_two_lines, 1, release="2.0")], [2]),
    "same place with different values groups": (
        [error(raise_with_value, "id 1 missing"), error(raise_with_value, "id 2 missing")], [2]),
    "different types don't group": (
        [error(raise_at_one_of_two_lines, 1, ValueError),
         error(raise_at_one_of_two_lines, 1, TypeError)], [1, 1]),
    "same type from different functions doesn't group": (
        [error(raise_at_one_of_two_lines, 1), error(another_function)], [1, 1]),
    "messages with different parameters group by template": (
        [message("payment %s declined", "p-1"), message("payment %s declined", "p-2"),
         message("payment %s declined", "p-3")], [3]),
    "different messages don't group": (
        [message("payment declined"), message("payment accepted")], [1, 1]),
    "a custom fingerprint groups different errors": (
        [error(raise_at_one_of_two_lines, 1, ValueError, fingerprint=["checkout"]),
         error(another_function, fingerprint=["checkout"])], [2]),
    "{{ default }} plus a part splits the same error": (
        [error(raise_at_one_of_two_lines, 1, fingerprint=["{{ default }}", "tenant-a"]),
         error(raise_at_one_of_two_lines, 1, fingerprint=["{{ default }}", "tenant-b"])], [1, 1]),
    "{{ default }} plus the same part still groups across lines": (
        [error(raise_at_one_of_two_lines, 1, fingerprint=["{{ default }}", "tenant-a"]),
         error(raise_at_one_of_two_lines, 2, fingerprint=["{{default}}", "tenant-a"])], [2]),
    "a fingerprint of only {{ default }} is the default grouping": (
        [error(raise_at_one_of_two_lines, 1, fingerprint=["{{ default }}"]),
         error(raise_at_one_of_two_lines, 2)], [2]),
}  # fmt: skip


@pytest.mark.parametrize("case", list(CASES))
def test_grouping(devserver: Server, project: tuple[int, str], case: str) -> None:
    """Each case's events make the expected issues, with the expected counts."""
    sends, expected = CASES[case]
    for send in sends:
        send(project[1])
    issues = devserver.issues(project[0], sort="count")
    assert [issue["count"] for issue in issues] == expected


def test_an_issue_keeps_first_and_last_seen_users_and_latest_release(
    devserver: Server, project: tuple[int, str]
) -> None:
    """An issue counts distinct users and keeps first/last seen, the latest level and release,
    and remembers every release and environment it was seen in (its filters find it by either)."""
    for user, release in (("u1", "1.0"), ("u2", "1.0"), ("u1", "2.0")):
        client = raven.Client(
            "sync+" + project[1], install_sys_hook=False, hook_libraries=(),
            release=release, environment="prod",
        )  # fmt: skip
        client.user_context({"id": user})
        try:
            raise_at_one_of_two_lines(1)
        except ValueError:
            client.captureException()
        client.close(timeout=5)
    (issue,) = devserver.issues(project[0])
    assert (issue["count"], issue["users"], issue["release"]) == (3, 2, "2.0")
    assert issue["first_seen"] < issue["last_seen"]
    assert devserver.issues(project[0], release="1.0") == [issue]
    assert devserver.issues(project[0], environment="prod") == [issue]
    assert devserver.issues(project[0], release="3.0") == []
