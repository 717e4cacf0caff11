"""Raven: a Sentry client for Python."""

from __future__ import annotations

from .__about__ import __version__
from .client import Client
from .versioning import fetch_git_sha, fetch_package_version

__all__ = ["Client", "__version__", "fetch_git_sha", "fetch_package_version"]
