"""Knowing the release: the option, SENTRY_RELEASE, the commit of the git checkout the app runs
from (read from .git: loose refs, packed refs, detached HEAD, worktrees), then the commit
variables of CI and hosting platforms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from raven.release import CI_COMMIT_VARIABLES, detect_release, find_git_dir, git_head_commit

from tests.receiver import Receiver

SHA = "0123456789abcdef0123456789abcdef01234567"


def _git(repo: Path, *args: str) -> str:
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(repo),
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@example.com",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@example.com",
    }
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=True
    )
    return result.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A real git repository (made with ``git init``) with two commits on ``main``."""
    path = tmp_path / "app"
    path.mkdir()
    _git(path, "init", "-q", "-b", "main")
    for name in ("a", "b"):
        (path / name).write_text(name)
        _git(path, "add", name)
        _git(path, "commit", "-q", "-m", name)
    (path / "src" / "pkg").mkdir(parents=True)
    return path


def test_the_commit_of_a_branch_is_read_from_a_loose_ref(repo: Path) -> None:
    """HEAD -> refs/heads/main -> the loose ref file: the checked-out commit, found from a
    subdirectory too."""
    head = _git(repo, "rev-parse", "HEAD")
    assert detect_release({}, str(repo)) == head
    assert detect_release({}, str(repo / "src" / "pkg")) == head
    assert (repo / ".git" / "refs" / "heads" / "main").exists()


def test_the_commit_is_read_from_packed_refs(repo: Path) -> None:
    """After ``git pack-refs --all`` (no loose ref left) the commit comes from packed-refs."""
    head = _git(repo, "rev-parse", "HEAD")
    _git(repo, "pack-refs", "--all")
    assert not (repo / ".git" / "refs" / "heads" / "main").exists()
    assert detect_release({}, str(repo)) == head


def test_a_detached_head_is_its_commit(repo: Path) -> None:
    """A detached HEAD (a deploy that checks out a commit) is that commit."""
    first = _git(repo, "rev-parse", "HEAD~1")
    _git(repo, "checkout", "-q", "--detach", first)
    assert detect_release({}, str(repo)) == first


def test_a_linked_worktree_reads_its_own_head(repo: Path, tmp_path: Path) -> None:
    """A linked worktree (``.git`` is a file) reads its HEAD, and its branch from the main
    repository's refs."""
    _git(repo, "branch", "other", "HEAD~1")
    _git(repo, "pack-refs", "--all")
    _git(repo, "worktree", "add", "-q", str(tmp_path / "wt"), "other")
    assert (tmp_path / "wt" / ".git").is_file()
    assert detect_release({}, str(tmp_path / "wt")) == _git(repo, "rev-parse", "other")


def test_a_repository_without_commits_or_outside_any_repository(tmp_path: Path) -> None:
    """A new repository without commits, or a folder in none, has no commit: the CI
    variables are tried next."""
    empty = tmp_path / "empty"
    empty.mkdir()
    _git(empty, "init", "-q")
    assert git_head_commit(str(empty / ".git")) is None
    assert detect_release({}, str(empty)) is None
    assert detect_release({"GITHUB_SHA": SHA}, str(empty)) == SHA
    if find_git_dir(str(tmp_path)) is None:  # the temp folder is in no checkout
        assert detect_release({}, str(tmp_path)) is None


@pytest.mark.parametrize("variable", [name for name, _platform in CI_COMMIT_VARIABLES])
def test_each_ci_commit_variable(tmp_path: Path, variable: str) -> None:
    """Outside a git checkout, each CI or hosting platform's commit variable is the release."""
    assert detect_release({variable: f" {SHA} "}, str(tmp_path)) == SHA
    assert detect_release({variable: ""}, str(tmp_path)) is None


def test_ci_variables_are_tried_in_order_and_git_comes_first(repo: Path, tmp_path: Path) -> None:
    """The first variable of the list wins over later ones; the checkout's commit over both."""
    environ = {"GIT_COMMIT": "jenkins", "HEROKU_SLUG_COMMIT": "heroku"}
    assert detect_release(environ, str(tmp_path)) == "heroku"
    assert detect_release(environ, str(repo)) == _git(repo, "rev-parse", "HEAD")


CHECK = """
import raven
from tests.receiver import Receiver
import sys
client = raven.Client(sys.argv[1], **({"release": sys.argv[2]} if len(sys.argv) > 2 else {}))
client.captureMessage("hello")
client.close()
"""


@pytest.mark.parametrize(
    ("env", "option", "expected"),
    [
        ({}, None, "git"),
        ({"SENTRY_RELEASE": "from-env@1"}, None, "from-env@1"),
        ({"SENTRY_RELEASE": ""}, None, None),
        ({"GITHUB_SHA": SHA}, "given@2", "given@2"),
        ({"SENTRY_RELEASE": "from-env@1"}, "given@2", "given@2"),
    ],
)
def test_the_client_sends_the_release_it_knows(
    repo: Path,
    receiver: Receiver,
    env: dict[str, str],
    option: str | None,
    expected: str | None,
) -> None:
    """A client made in a checkout sends the commit as its release (on events and sessions)
    unless the option or SENTRY_RELEASE says otherwise; SENTRY_RELEASE="" means none."""
    base = {k: v for k, v in os.environ.items() if not k.startswith("SENTRY_")}
    base["PYTHONPATH"] = str(Path(__file__).resolve().parents[2])
    args = [sys.executable, "-c", CHECK, receiver.dsn] + ([option] if option else [])
    result = subprocess.run(
        args, cwd=repo / "src", env={**base, **env}, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    (event,) = receiver.wait_for(1)
    release = _git(repo, "rev-parse", "HEAD") if expected == "git" else expected
    assert event.get("release") == release
    if release is None:
        assert receiver.sessions == []
    else:
        (session,) = receiver.wait_for_sessions(1)
        assert session["attrs"]["release"] == release
