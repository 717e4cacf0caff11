"""Knowing the release when the app does not say it: the git commit of the checkout the app runs
from, else the commit variable of a CI or hosting platform.

Imported only when no ``release`` option is given and ``SENTRY_RELEASE`` is not set (set but
empty means "no release": nothing is detected). Cheap at start-up: the commit is read from
``.git`` directly (``HEAD`` -> its ref -> the loose ref file or ``packed-refs``), never by
spawning ``git``; the answer is computed once per process.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

__all__ = ["CI_COMMIT_VARIABLES", "detect_release", "find_git_dir", "git_head_commit"]

# Commit variables of CI and hosting platforms, in the order they are tried (the first set wins).
CI_COMMIT_VARIABLES: tuple[tuple[str, str], ...] = (
    ("HEROKU_BUILD_COMMIT", "Heroku"),
    ("HEROKU_SLUG_COMMIT", "Heroku (deprecated dyno metadata)"),
    ("SOURCE_VERSION", "Heroku builds"),
    ("CODEBUILD_RESOLVED_SOURCE_VERSION", "AWS CodeBuild"),
    ("CIRCLE_SHA1", "CircleCI"),
    ("GAE_DEPLOYMENT_ID", "Google App Engine"),
    ("K_REVISION", "Google Cloud Run"),
    ("GITHUB_SHA", "GitHub Actions"),
    ("CI_COMMIT_SHA", "GitLab CI"),
    ("BITBUCKET_COMMIT", "Bitbucket Pipelines"),
    ("TRAVIS_COMMIT", "Travis CI"),
    ("VERCEL_GIT_COMMIT_SHA", "Vercel"),
    ("NOW_GITHUB_COMMIT_SHA", "Zeit Now (GitHub)"),
    ("NOW_GITLAB_COMMIT_SHA", "Zeit Now (GitLab)"),
    ("NOW_BITBUCKET_COMMIT_SHA", "Zeit Now (Bitbucket)"),
    ("ZEIT_GITHUB_COMMIT_SHA", "Zeit (GitHub)"),
    ("ZEIT_GITLAB_COMMIT_SHA", "Zeit (GitLab)"),
    ("ZEIT_BITBUCKET_COMMIT_SHA", "Zeit (Bitbucket)"),
    ("COMMIT_REF", "Netlify"),
    ("RENDER_GIT_COMMIT", "Render"),
    ("RAILWAY_GIT_COMMIT_SHA", "Railway"),
    ("CM_COMMIT", "Codemagic"),
    ("CF_PAGES_COMMIT_SHA", "Cloudflare Pages"),
    ("BUILD_SOURCEVERSION", "Azure Pipelines"),
    ("BITRISE_GIT_COMMIT", "Bitrise"),
    ("BUILDKITE_COMMIT", "Buildkite"),
    ("DRONE_COMMIT_SHA", "Drone"),
    ("SEMAPHORE_GIT_SHA", "Semaphore"),
    ("APPVEYOR_REPO_COMMIT", "AppVeyor"),
    ("BUILD_VCS_NUMBER", "TeamCity"),
    ("GIT_COMMIT", "Jenkins"),
)

_HEX = frozenset("0123456789abcdef")
_UNSET = object()
_detected: object = _UNSET


def detect_release(environ: Mapping[str, str] | None = None, cwd: str | None = None) -> str | None:
    """The release to use when none is given: the commit checked out in the git repository the
    current directory (``cwd``) belongs to (searching parents), else the first CI or hosting
    platform commit variable set in ``environ`` (:data:`CI_COMMIT_VARIABLES`). None when there
    is neither. With no arguments, computed once per process."""
    global _detected
    if environ is None and cwd is None and _detected is not _UNSET:
        return _detected  # type: ignore[return-value]
    env = os.environ if environ is None else environ
    release = None
    git_dir = find_git_dir(cwd)
    if git_dir is not None:
        release = git_head_commit(git_dir)
    if release is None:
        for name, _platform in CI_COMMIT_VARIABLES:
            value = env.get(name, "").strip()
            if value:
                release = value
                break
    if environ is None and cwd is None:
        _detected = release
    return release


def find_git_dir(start: str | None = None) -> str | None:
    """The git directory of the repository ``start`` (default: the current directory) is in,
    searching its parents; None when it is in none. A ``.git`` file (a worktree, a submodule)
    is followed to the directory it names."""
    try:
        path = os.path.abspath(start if start is not None else os.getcwd())
    except OSError:  # the current directory was deleted
        return None
    while True:
        candidate = os.path.join(path, ".git")
        if os.path.isdir(candidate):
            return candidate
        if os.path.isfile(candidate):
            return _follow_gitdir_file(path, candidate)
        parent = os.path.dirname(path)
        if parent == path:
            return None
        path = parent


def _follow_gitdir_file(path: str, git_file: str) -> str | None:
    try:
        with open(git_file, encoding="utf-8") as fh:
            text = fh.read().strip()
    except (OSError, UnicodeDecodeError):
        return None
    if not text.startswith("gitdir:"):
        return None
    git_dir = os.path.join(path, text[len("gitdir:") :].strip())
    return git_dir if os.path.isdir(git_dir) else None


def git_head_commit(git_dir: str, head: str | None = None) -> str | None:
    """The commit ``head`` (default: the repository's ``HEAD``: a detached commit or a ref such
    as ``ref: refs/heads/main``) resolves to in ``git_dir``, from the loose ref file or
    ``packed-refs`` (of the main repository too, for a linked worktree); None when it does not
    resolve (a new repository without commits, an unreadable file)."""
    try:
        if head is None:
            head = _read(os.path.join(git_dir, "HEAD"))
        if not head.startswith("ref:"):
            return head if _is_commit(head) else None
        ref = head[4:].strip()
        for directory in _ref_dirs(git_dir):
            loose = os.path.join(directory, *ref.split("/"))
            if os.path.isfile(loose):
                sha = _read(loose)
                return sha if _is_commit(sha) else None
            packed = os.path.join(directory, "packed-refs")
            if os.path.isfile(packed):
                with open(packed, encoding="utf-8") as fh:
                    for line in fh:
                        sha, _, name = line.strip().partition(" ")
                        if name == ref and _is_commit(sha):
                            return sha
    except (OSError, UnicodeDecodeError):
        return None
    return None


def _ref_dirs(git_dir: str) -> list[str]:
    """``git_dir``, then the main repository's git directory when it is a linked worktree."""
    dirs = [git_dir]
    commondir = os.path.join(git_dir, "commondir")
    if os.path.isfile(commondir):
        dirs.append(os.path.normpath(os.path.join(git_dir, _read(commondir))))
    return dirs


def _is_commit(text: str) -> bool:
    """40 (SHA-1) or 64 (SHA-256 repositories) lower-case hex digits. No regular expression:
    compiling one would cost this module's import more than the whole detection."""
    return len(text) in (40, 64) and _HEX.issuperset(text)


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as fh:
        return fh.read().strip()
