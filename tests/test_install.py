"""Installing from this repository as the READMEs say, and testing each framework at its floor.

The ``pip install`` lines are read out of the READMEs (the top-level one and every package's),
checked, and run into fresh virtualenvs: from a copy of this checkout, and from a ``git+file://``
URL of a clone of HEAD in place of the documented git URL. Each package is then imported there.
``uv`` installs when it is available (hatch provides it), else the venv's own pip.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = sorted(p for p in (ROOT / "packages").iterdir() if (p / "pyproject.toml").exists())
READMES = [ROOT / "README.md", *(p / "README.md" for p in PACKAGES)]
INSTALL_TIMEOUT = 300

# Run in the new venv with -I (neither this checkout nor PYTHONPATH on sys.path).
IMPORT_CHECK = """
import importlib, importlib.metadata, json, sys
found = {}
for dist, module in json.loads(sys.argv[1]).items():
    imported = importlib.import_module(module)
    distribution = importlib.metadata.distribution(dist)
    found[dist] = {"version": imported.__version__, "metadata_version": distribution.version,
                   "file": imported.__file__, "direct_url": json.loads(distribution.read_text("direct_url.json"))}
print(json.dumps(found))
"""


def _project(folder: str) -> dict[str, Any]:
    pyproject = tomllib.loads((ROOT / "packages" / folder / "pyproject.toml").read_text())
    return dict(pyproject["project"])


def _import_name(folder: str) -> str:
    (src,) = [
        p
        for p in (ROOT / "packages" / folder / "src").iterdir()
        if p.is_dir() and not p.name.startswith((".", "_"))
    ]
    return src.name


def _declared_version(folder: str) -> str:
    about = ROOT / "packages" / folder / "src" / _import_name(folder) / "__about__.py"
    (version,) = re.findall(r"^__version__ = \"([^\"]+)\"$", about.read_text(), re.M)
    return str(version)


def install_commands(readme: Path) -> dict[str, list[str]]:
    """The README's ``pip install`` lines that install from this repository, by form:
    ``{"checkout": [arguments], "git": [arguments]}``."""
    forms: dict[str, list[str]] = {}
    for block in re.findall(r"^```[^\n]*\n(.*?)^```", readme.read_text(), re.M | re.S):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words[:2] != ["pip", "install"] or not any("packages/" in word for word in words):
                continue
            form = "git" if any("git+" in word for word in words) else "checkout"
            assert form not in forms, f"{readme}: two {form} install lines"
            forms[form] = words[2:]
    return forms


def _git_requirement(argument: str) -> tuple[str, str, str]:
    """``"raven-x @ git+URL#subdirectory=packages/x"`` -> (distribution, repository URL, folder)."""
    requirement = Requirement(argument)
    assert requirement.url, argument
    url, _, fragment = requirement.url.partition("#")
    (subdirectory,) = parse_qs(fragment)["subdirectory"]
    assert subdirectory.startswith("packages/"), argument
    return requirement.name, url, subdirectory.removeprefix("packages/")


def _checkout_folder(argument: str) -> str:
    assert argument.startswith("./packages/"), argument
    return argument.removeprefix("./packages/").rstrip("/")


def _readme_id(readme: Path) -> str:
    return str(readme.relative_to(ROOT))


@pytest.mark.parametrize("readme", READMES, ids=_readme_id)
def test_each_readme_documents_both_install_forms_with_the_core(readme: Path) -> None:
    """Every README has a checkout and a git install line naming the same packages, raven-core first
    and the README's own package among them, each under its distribution name."""
    forms = install_commands(readme)
    assert sorted(forms) == ["checkout", "git"], (
        f"{_readme_id(readme)}: install lines found: {forms}"
    )
    folders = [_checkout_folder(argument) for argument in forms["checkout"]]
    git = [_git_requirement(argument) for argument in forms["git"]]
    assert [folder for _, _, folder in git] == folders, "the two lines install different packages"
    assert folders[0] == "core", "raven-core first: pip cannot find it on PyPI"
    assert all((ROOT / "packages" / folder / "pyproject.toml").exists() for folder in folders)
    if readme.parent != ROOT:
        assert readme.parent.name in folders
    assert [dist for dist, _, _ in git] == [_project(folder)["name"] for folder in folders]
    assert all(url.startswith("git+") for _, url, _ in git)


def test_all_readmes_name_one_repository_url() -> None:
    """The git install lines of all READMEs point at one repository URL (the test swaps it for a clone)."""
    urls = {
        url
        for readme in READMES
        for _, url, _ in map(_git_requirement, install_commands(readme).get("git", []))
    }
    assert len(urls) == 1, urls


def _clean_env() -> dict[str, str]:
    return {
        k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH", "PYTHONHOME")
    }


def _run(command: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run(
        command, cwd=cwd, env=_clean_env(), capture_output=True, text=True, timeout=INSTALL_TIMEOUT
    )
    assert result.returncode == 0, (
        f"{shlex.join(command)} exited with {result.returncode}:\n{result.stdout}\n{result.stderr}"
    )
    return result


def _venv_with(path: Path, arguments: list[str], cwd: Path) -> Path:
    """A new virtualenv at ``path`` where ``pip install <arguments>`` ran in ``cwd``; its python."""
    python = path / "bin" / "python"
    uv = os.environ.get("HATCH_UV") or shutil.which("uv")
    if uv:
        _run([uv, "venv", "--quiet", "--python", sys.executable, str(path)], cwd)
        install = [uv, "pip", "install", "--quiet", "--python", str(python)]
    else:
        _run([sys.executable, "-m", "venv", str(path)], cwd)
        install = [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    _run([*install, *arguments], cwd)
    return python


def _imported(python: Path, folders: list[str], cwd: Path) -> dict[str, dict[str, Any]]:
    """For each package: what importing it in that venv gives (version, file, direct_url.json)."""
    modules = {_project(folder)["name"]: _import_name(folder) for folder in folders}
    found: dict[str, dict[str, Any]] = json.loads(
        _run([str(python), "-I", "-c", IMPORT_CHECK, json.dumps(modules)], cwd).stdout
    )
    assert sorted(found) == sorted(modules)
    for folder in folders:
        package = found[_project(folder)["name"]]
        assert package["version"] == package["metadata_version"] == _declared_version(folder)
        assert Path(package["file"]).is_relative_to(python.parent.parent)
    return found


def test_install_from_a_checkout(tmp_path: Path) -> None:
    """All the READMEs' checkout lines, run as one command from a copy of this checkout, give a venv
    where every package imports with its version, installed (not editable) from its folder."""
    arguments = list(
        dict.fromkeys(arg for readme in READMES for arg in install_commands(readme)["checkout"])
    )
    folders = [_checkout_folder(argument) for argument in arguments]
    assert sorted(folders) == sorted(p.name for p in PACKAGES)
    # A copy: a new path each run, so no installer cache can hand back a wheel built from older code.
    checkout = tmp_path / "checkout"
    shutil.copytree(
        ROOT / "packages",
        checkout / "packages",
        ignore=shutil.ignore_patterns("__pycache__", "*.pyc", "build", "dist", "*.egg-info"),
    )
    python = _venv_with(tmp_path / "venv", arguments, checkout)

    found = _imported(python, folders, tmp_path)
    for folder in folders:
        direct_url = found[_project(folder)["name"]]["direct_url"]
        assert urlsplit(direct_url["url"]).path == str(checkout / "packages" / folder)
        assert not direct_url.get("dir_info", {}).get("editable", False)
    version = _run([str(python.parent / "raven"), "--version"], tmp_path).stdout
    assert version.strip() == f"raven {_declared_version('core')}"


def test_install_from_a_git_url(tmp_path: Path) -> None:
    """The top-level README's git line, with a clone of HEAD as the repository, installs raven-core
    and its framework package from that commit's subdirectories, and both import."""
    clone = tmp_path / "clone"
    _run(["git", "clone", "--quiet", str(ROOT), str(clone)], tmp_path)
    head = _run(["git", "rev-parse", "HEAD"], clone).stdout.strip()
    git = [_git_requirement(argument) for argument in install_commands(ROOT / "README.md")["git"]]
    # "localhost": the PEP 508 parser of older pips (23.x) rejects a git+file URL with no host.
    arguments = [
        f"{dist} @ git+file://localhost{clone}#subdirectory=packages/{folder}"
        for dist, _, folder in git
    ]
    python = _venv_with(tmp_path / "venv", arguments, tmp_path)

    found = _imported(python, [folder for _, _, folder in git], tmp_path)
    for dist, _, folder in git:
        direct_url = found[dist]["direct_url"]
        assert (direct_url["vcs_info"]["vcs"], direct_url["vcs_info"]["commit_id"]) == ("git", head)
        assert direct_url["subdirectory"] == f"packages/{folder}"
        assert urlsplit(direct_url["url"]).path == str(clone)


def test_min_envs_pin_each_framework_to_its_declared_floor() -> None:
    """hatch.toml's ``min`` matrix has one env per framework package, pinning that framework to
    exactly the floor the package's pyproject declares."""
    env = tomllib.loads((ROOT / "hatch.toml").read_text())["envs"]["min"]
    (matrix,) = env["matrix"]
    pins: dict[str, dict[str, Requirement]] = {}
    for override in env["overrides"]["matrix"]["framework"]["dependencies"]:
        requirement = Requirement(override["value"])
        for framework in override["if"]:
            pins.setdefault(framework, {})[requirement.name] = requirement
    floors: dict[str, tuple[str, Version]] = {}
    # raven-devserver is a tool, not a framework integration: no framework floor to pin.
    for package in (p for p in PACKAGES if p.name not in ("core", "devserver")):
        requirements = [Requirement(dep) for dep in _project(package.name)["dependencies"]]
        frameworks = [r for r in requirements if not r.name.startswith("raven-")]
        if frameworks:  # raven-lambda needs no framework
            (framework,) = frameworks
            (specifier,) = framework.specifier
            assert specifier.operator == ">=", f"{package.name}: {framework}: lower bounds only"
            floors[package.name] = (framework.name, Version(specifier.version))
    assert sorted(matrix["framework"]) == sorted(floors)
    for folder, (name, floor) in floors.items():
        (pin,) = pins[folder][name].specifier
        assert (pin.operator, Version(pin.version)) == ("==", floor), (
            f"{folder}: pinned {pin}, declares >={floor}"
        )
