"""Release helpers and the versions of installed packages (for the event's ``modules``)."""

from __future__ import annotations

import functools
import os
import sys

__all__ = ["fetch_git_sha", "fetch_package_version", "get_module_versions"]


class InvalidGitRepository(ValueError):
    """``fetch_git_sha`` found no git repository (or no commit) at the path given."""

    pass


def fetch_git_sha(path: str, head: str | None = None) -> str:
    """The commit SHA checked out in the git repository at ``path`` (read from .git, no
    subprocess; :mod:`raven.release`). ``head`` names a branch or ref to resolve instead."""
    from .release import find_git_dir, git_head_commit

    git_dir = find_git_dir(path) if os.path.exists(os.path.join(path, ".git")) else None
    if git_dir is None:
        raise InvalidGitRepository(f"no git repository at {path!r}")
    if head is not None and not head.startswith("ref:"):
        head = "ref: " + (head if head.startswith("refs/") else "refs/heads/" + head)
    sha = git_head_commit(git_dir, head)
    if sha is None:
        raise InvalidGitRepository(f"cannot resolve {head or 'HEAD'!r} in {git_dir!r}")
    return sha


def fetch_package_version(dist_name: str) -> str:
    """The installed version of the distribution ``dist_name``."""
    from importlib import metadata  # imported when needed: it is slow to import

    return metadata.version(dist_name)


@functools.lru_cache(maxsize=1)
def _distributions() -> dict[str, str]:
    """Name -> version of the installed distributions, read from their metadata folders' names.

    ``NAME-VERSION.dist-info`` says both, so one directory listing per ``sys.path`` entry is
    enough: reading every METADATA file (importlib.metadata) costs a thousand file reads, which
    a sender thread competing with a busy app for the GIL would pay for in seconds.
    """
    versions: dict[str, str] = {}
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        for folder in names:
            stem, dot, suffix = folder.rpartition(".")
            if suffix not in ("dist-info", "egg-info") or not dot:
                continue
            name, sep, version = stem.partition("-")
            if sep and version:
                versions.setdefault(name.lower().replace("_", "-"), version.split("-")[0])
    return versions


def get_module_versions() -> dict[str, str]:
    """Installed distributions and their versions, plus ``python``. Cached: computed once."""
    versions = dict(_distributions())
    versions["python"] = "{}.{}.{}".format(*sys.version_info[:3])
    return versions
