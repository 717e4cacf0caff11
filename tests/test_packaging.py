"""The monorepo's contracts: one package per folder, and integrations on the core's public API only."""

from __future__ import annotations

import ast
import importlib
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())
INTEGRATIONS = [p for p in PACKAGES if p.name != "core"]


def _import_name(package: Path) -> str:
    (src,) = [
        p for p in (package / "src").iterdir() if p.is_dir() and not p.name.startswith((".", "_"))
    ]
    return src.name


@pytest.mark.parametrize("package", INTEGRATIONS, ids=lambda p: p.name)
def test_integrations_import_no_private_core_names(package: Path) -> None:
    """Framework packages import only raven's public modules and names, never ``raven._x`` or ``_name``."""
    offenders = []
    for path in (package / "src").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if (
                isinstance(node, ast.ImportFrom)
                and node.module
                and node.module.split(".")[0] == "raven"
            ):
                private = [a.name for a in node.names if a.name.startswith("_")]
                if any(part.startswith("_") for part in node.module.split(".")) or private:
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
            elif isinstance(node, ast.Import):
                offenders += [
                    f"{path.relative_to(ROOT)}:{node.lineno}"
                    for a in node.names
                    if a.name.split(".")[0] == "raven" and "._" in a.name
                ]
    assert offenders == []


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.name)
def test_each_package_is_one_typed_distribution_with_a_sorted_all(package: Path) -> None:
    """Each folder is one distribution with its own version, py.typed, and a sorted ``__all__``."""
    project = tomllib.loads((package / "pyproject.toml").read_text())["project"]
    name = _import_name(package)
    assert project["name"].startswith("raven-")
    assert (package / "src" / name / "py.typed").exists()
    assert (package / "README.md").exists()
    module = importlib.import_module(name)
    assert module.__version__
    assert list(module.__all__) == sorted(module.__all__)
    if package.name != "core":
        assert any(dep.startswith("raven-core") for dep in project["dependencies"])
    else:
        assert [dep.split(">")[0] for dep in project["dependencies"]] == ["requests"]
