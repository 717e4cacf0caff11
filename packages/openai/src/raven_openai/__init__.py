"""Raven for the ``openai`` client: each chat completion and response (sync and async clients,
streamed or not) becomes a ``gen_ai`` span of the current transaction, with the model, the
request's parameters and the token usage (the prompts and answers only with
``send_default_pii``); an error raised by the call is captured, tagged with the AI pipeline it
ran in, and re-raised.

``raven_openai.install(client)`` patches openai's resource classes (every ``OpenAI`` /
``AsyncOpenAI`` / Azure client, made before or after); ``raven_openai.uninstall()`` restores
them. Importing this package patches nothing.
"""

from __future__ import annotations

from .__about__ import __version__
from ._install import install, installed_client, uninstall

__all__ = ["__version__", "install", "installed_client", "uninstall"]
