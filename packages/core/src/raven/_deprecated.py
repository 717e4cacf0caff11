"""raven-python's old import paths: module-level ``__getattr__`` that resolves a name lazily to
where it lives now and emits a ``DeprecationWarning`` naming the new place."""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["import_for", "moved_names", "warn_moved"]


def warn_moved(old: str, new: str, stacklevel: int = 3) -> None:
    """Warn that ``old`` (a dotted name) is deprecated in favour of ``new``."""
    warnings.warn(
        f"{old} is raven-python's name, kept for compatibility; use {new}",
        DeprecationWarning,
        stacklevel=stacklevel,
    )


def resolve(target: str) -> Any:
    """The object named ``"package.module:attr"`` (or a module, without ``:attr``)."""
    module, _, attr = target.partition(":")
    obj: Any = importlib.import_module(module)
    for part in attr.split(".") if attr else ():
        obj = getattr(obj, part)
    return obj


def moved_names(
    module: str,
    names: Mapping[str, str],
    install: str | None = None,
    instead: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``module`` whose ``names`` map to ``"new.module:attr"``.

    Each access warns and resolves lazily (importing nothing until then). ``install`` names the
    distribution to install when the new module is missing (a framework package); ``instead``
    names what replaces a compatibility object kept in a private module.
    """

    def __getattr__(name: str) -> Any:
        target = names.get(name)
        if target is None:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        if instead and name in instead:  # a compatibility class: name what replaces it
            warn_moved(f"{module}.{name}", instead[name])
        elif "._" in target.partition(":")[0]:  # kept only here: nothing public replaces it
            warn_moved(f"{module}.{name}", "Raven's own API (see the README's migration notes)")
        else:
            warn_moved(f"{module}.{name}", target.replace(":", "."))
        try:
            return resolve(target)
        except ImportError as exc:
            if install is None:
                raise
            raise ImportError(
                f"{module}.{name} needs the {install} package: pip install {install} ({exc})",
                name=exc.name,
            ) from exc

    def __dir__() -> list[str]:
        return sorted(names)

    return __getattr__, __dir__


def import_for(module: str, needed_by: str, install: str) -> Any:
    """Import ``module`` for ``needed_by``; when it is missing, the ImportError says what to
    install (``install``: the pip argument)."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{needed_by} needs {install}: pip install {install} ({exc})", name=exc.name
        ) from exc
