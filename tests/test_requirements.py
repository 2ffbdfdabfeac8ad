"""What is installed where: requirements.txt holds what runs the service, pinned;
requirements-test.txt adds the test tools on top of it.

The imports are read from the code itself (ast), and each is mapped to the
distribution that provides it (importlib.metadata), so a module that imports a
library only a test tool happens to pull in fails here, not in production.
"""
from __future__ import annotations

import ast
import sys
from functools import cache
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tests.conftest import ROOT

RUNTIME_CODE = ["flask_qed", "hms_flask", "pram_flask", "flask_cgi.py", "celery_cgi.py", "gunicorn.conf.py"]
OWN = {"flask_qed", "hms_flask", "pram_flask", "flask_cgi", "celery_cgi", "tests", "benchmarks"}
# Pinned for the service without a module of it importing them.
RUNTIME_WITHOUT_IMPORT = {
    "gunicorn-h1c": "gunicorn's C request parser, which gunicorn loads itself",
    "hiredis": "Redis's reply parser in C, which redis-py loads itself",
    "flask-restful": "what apps written the old way build their resources with (docs/adding-an-app.md)",
}
# Modules the benchmarks import from the side-by-side harness they are run beside.
HARNESS = {"common", "jobload", "celery_anchor_app"}


def pins(path: Path) -> dict[str, Requirement]:
    """The requirements a file pins itself (not those of a file it includes with -r)."""
    found = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line or line.startswith(("-e ", "-r ")):
            continue
        req = Requirement(line)
        found[canonicalize_name(req.name)] = req
    return found


def closure(reqs: dict[str, Requirement]) -> set[str]:
    """Every distribution installing ``reqs`` brings in (their own requirements, extras included)."""
    seen: set[tuple[str, frozenset]] = set()
    todo = [(name, frozenset(req.extras)) for name, req in reqs.items()]
    while todo:
        name, extras = todo.pop()
        if (name, extras) in seen:
            continue
        seen.add((name, extras))
        try:
            declared = requires(name) or []
        except PackageNotFoundError:
            continue
        for text in declared:
            dep = Requirement(text)
            if dep.marker is None or any(dep.marker.evaluate({"extra": e}) for e in extras | {""}):
                todo.append((canonicalize_name(dep.name), frozenset(dep.extras)))
    return {name for name, _extras in seen}


def _optional(tree: ast.AST) -> set[int]:
    """The imports inside ``try: … except ImportError``: used when present, not required."""
    ids = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Try):
            continue
        caught = {ast.unparse(h.type) for h in node.handlers if h.type is not None}
        if any("ImportError" in c or "ModuleNotFoundError" in c for c in caught):
            ids |= {id(n) for stmt in node.body for n in ast.walk(stmt)}
    return ids


@cache
def third_party_imports(*places: str, optional_too: bool = False) -> dict[str, list[str]]:
    """Top-level module imported → the files importing it, outside the standard library
    and the project's own modules; optional imports left out unless ``optional_too``."""
    files = [p for place in places for p in ([ROOT / place] if place.endswith(".py")
                                             else sorted((ROOT / place).rglob("*.py")))]
    # Scripts import their neighbours by name (benchmarks/); modules of a package do not.
    local = {p.stem for p in files if not (p.parent / "__init__.py").exists()} | OWN
    found: dict[str, list[str]] = {}
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        optional = set() if optional_too else _optional(tree)
        for node in ast.walk(tree):
            if id(node) in optional:
                continue
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names = [node.module]
            else:
                continue
            for top in {n.split(".")[0] for n in names}:
                if top not in sys.stdlib_module_names and top not in local:
                    found.setdefault(top, []).append(str(path.relative_to(ROOT)))
    return found


def distribution_of(module: str) -> str | None:
    dists = packages_distributions().get(module)
    return canonicalize_name(dists[0]) if dists else None


def uncovered(imports: dict[str, list[str]], covered: set[str]) -> list[str]:
    problems = []
    for module, files in sorted(imports.items()):
        dist = distribution_of(module)
        if dist is None or dist not in covered:
            problems.append(f"{module} ({dist or 'no installed distribution'}), imported by {files[0]}")
    return problems


RUNTIME = pins(ROOT / "requirements.txt")
TEST = pins(ROOT / "requirements-test.txt")


def test_every_pin_is_exact_and_the_test_file_builds_on_the_runtime_one():
    for name, req in {**RUNTIME, **TEST}.items():
        assert len(req.specifier) == 1 and next(iter(req.specifier)).operator == "==", name
    first = next(line for line in (ROOT / "requirements-test.txt").read_text().splitlines()
                 if line.strip() and not line.startswith("#"))
    assert first.strip() == "-r requirements.txt"
    assert "-e ." in (ROOT / "requirements.txt").read_text().splitlines()
    assert not set(RUNTIME) & set(TEST), "pinned in both files"


def test_everything_the_service_imports_is_installed_by_requirements_txt():
    imports = third_party_imports(*RUNTIME_CODE)
    assert {"flask", "celery", "numpy", "pydantic"} <= set(imports)  # the scan sees the code
    assert uncovered(imports, closure(RUNTIME)) == []


def test_requirements_txt_holds_no_test_tool():
    imported = {distribution_of(m) for m in third_party_imports(*RUNTIME_CODE, optional_too=True)}
    unused = sorted(set(RUNTIME) - imported - set(RUNTIME_WITHOUT_IMPORT))
    assert unused == [], f"pinned in requirements.txt but imported by no module of the service: {unused}"
    pulled_in = sorted(closure(RUNTIME) & set(TEST))
    assert pulled_in == [], f"the service's requirements bring in test tools: {pulled_in}"


def test_redis_replies_are_parsed_in_c():
    """redis-py (the broker's transport, the notices) picks hiredis up when it imports."""
    import redis
    from redis._parsers import _HiredisParser
    from redis.utils import HIREDIS_AVAILABLE
    assert HIREDIS_AVAILABLE
    assert isinstance(redis.Connection(host="127.0.0.1")._parser, _HiredisParser)


def test_pyproject_declares_only_what_requirements_txt_pins():
    import tomllib
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    missing = sorted(canonicalize_name(Requirement(d).name) for d in declared
                     if canonicalize_name(Requirement(d).name) not in RUNTIME)
    assert missing == [], f"pyproject.toml depends on what requirements.txt does not pin: {missing}"
    for text in declared:  # the pins satisfy the declared ranges
        req = Requirement(text)
        pinned = next(iter(RUNTIME[canonicalize_name(req.name)].specifier)).version
        assert req.specifier.contains(pinned, prereleases=True), (text, pinned)


def test_everything_the_tests_and_benchmarks_import_is_installed_by_requirements_test_txt():
    imports = third_party_imports("tests", "benchmarks")
    assert {"pytest", "hypothesis", "playwright"} <= set(imports)
    imports = {m: f for m, f in imports.items() if m not in HARNESS}
    assert uncovered(imports, closure({**RUNTIME, **TEST})) == []


@pytest.mark.parametrize("text, module, expected", [
    ("import yaml\n", "yaml", True),
    ("try:\n    import yaml\nexcept ImportError:\n    yaml = None\n", "yaml", False),
    ("def f():\n    from yaml import safe_load\n", "yaml", True),
    ("from . import yaml\n", "yaml", False),
])
def test_the_scan_sees_imports_at_any_depth_but_not_optional_ones(tmp_path, monkeypatch, text, module,
                                                                   expected):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    (tmp_path / "probe.py").write_text(text)
    assert (module in third_party_imports.__wrapped__("probe.py")) is expected
