"""Settings come from the environment, with the original flask_qed names as fallbacks;
every variable the code reads is declared once (flask_qed.config.VARIABLES), and
docs/configuration.md shows that declaration."""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flask_qed import config
from flask_qed.config import load_settings
from tests.conftest import ROOT


def test_defaults(tmp_path):
    s = load_settings({"QED_INSTANCE_PATH": str(tmp_path)})
    assert s.broker_url == "redis://localhost:6379/0"
    assert s.store_url == f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    assert s.result_ttl == 86_400 and s.visibility_timeout > s.task_time_limit


def test_original_names_are_fallbacks():
    s = load_settings({"REDIS_HOSTNAME": "redis", "REDIS_PORT": "6380", "MONGO_SERVER": "mongo"})
    assert s.broker_url == "redis://redis:6380/0"
    assert s.store_url == "mongodb://mongo:27017/flask_qed"


def test_qed_names_win():
    s = load_settings({"QED_BROKER_URL": "amqp://guest@rabbit//", "REDIS_HOSTNAME": "redis",
                       "QED_STORE_URL": "mongodb://db/x", "MONGO_SERVER": "mongo", "QED_RESULT_TTL": "600"})
    assert (s.broker_url, s.store_url, s.result_ttl) == ("amqp://guest@rabbit//", "mongodb://db/x", 600)


@pytest.mark.parametrize("value", ["soon", "0", "-5"])
def test_bad_numbers_are_refused_by_name(value):
    with pytest.raises(ValueError, match="QED_RESULT_TTL"):
        load_settings({"QED_RESULT_TTL": value})


def test_unknown_store_scheme_is_refused():
    from flask_qed.stores import open_store
    with pytest.raises(ValueError, match="unsupported scheme"):
        open_store("postgres://db/x", 60)


@pytest.mark.parametrize("env,named", [
    ({"QED_JOB_LEASE": "600", "QED_RESULT_TTL": "300"}, "QED_JOB_LEASE"),
    ({"QED_TASK_TIME_LIMIT": "3600", "QED_VISIBILITY_TIMEOUT": "3600"}, "QED_VISIBILITY_TIMEOUT"),
    ({"QED_TASK_SOFT_TIME_LIMIT": "100", "QED_TASK_TIME_LIMIT": "50"}, "QED_TASK_SOFT_TIME_LIMIT"),
    ({"QED_LOG_FORMAT": "xml"}, "QED_LOG_FORMAT"),
])
def test_contradictory_settings_are_refused_at_start(env, named):
    from flask_qed.config import ConfigError
    with pytest.raises(ConfigError, match=named):
        load_settings(env)


def test_the_visibility_timeout_defaults_past_the_time_limit():
    s = load_settings({"QED_TASK_TIME_LIMIT": "120", "QED_TASK_SOFT_TIME_LIMIT": "100"})
    assert s.visibility_timeout == 720


def test_compose_and_env_example_agree_with_the_rule():
    compose = (ROOT / "docker-compose.yml").read_text()
    assert re.search(r"QED_VISIBILITY_TIMEOUT:-4200\}", compose)
    example = dict(line.split("=", 1) for line in (ROOT / ".env.example").read_text().splitlines()
                   if re.match(r"^QED_[A-Z_]+=", line))
    assert int(example["QED_VISIBILITY_TIMEOUT"]) > int(example["QED_TASK_TIME_LIMIT"])
    load_settings({k: v for k, v in example.items() if v})


# --- every variable declared once (flask_qed.config.VARIABLES) ---------------------------

DOC = ROOT / "docs" / "configuration.md"
SOURCES = ("flask_qed", "hms_flask", "pram_flask", "celery_cgi.py", "flask_cgi.py", "gunicorn.conf.py")
ENV_NAME = re.compile(r"^[A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+$")
WRITES = {"pop", "popitem", "setdefault", "update", "clear"}


def _is_environ(node: ast.AST, aliases: set[str]) -> bool:
    """``os.environ``, or a name ``environ`` was imported from os under."""
    return (isinstance(node, ast.Attribute) and node.attr == "environ" and isinstance(node.value, ast.Name)
            and node.value.id == "os") or (isinstance(node, ast.Name) and node.id in aliases)


def _const(node: ast.AST | None) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def environment_use(source: str) -> tuple[set[str], list[str]]:
    """(names the module reads from the environment, the writes to it it makes): direct
    reads of os.environ / os.getenv, reads through flask_qed.config's table (read,
    variable), and, when the module hands os.environ itself to something, every string in
    it that looks like a variable's name (the thing it is handed to may read any of them)."""
    tree = ast.parse(source)
    table = {"read", "variable"}  # names bound to flask_qed.config's readers, however imported
    aliases: set[str] = set()  # names bound to os.environ
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").endswith("config"):
            table |= {a.asname or a.name for a in node.names if a.name in ("read", "variable")}
        if isinstance(node, ast.ImportFrom) and node.module == "os":
            aliases |= {a.asname or a.name for a in node.names if a.name == "environ"}
    is_environ = lambda n: _is_environ(n, aliases)  # noqa: E731
    names: set[str] = set()
    writes: list[str] = []
    handed = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and is_environ(node.value):
            if isinstance(node.ctx, ast.Load):
                names.add(_const(node.slice) or "?")
            else:
                writes.append(f"line {node.lineno}: environ[...] {type(node.ctx).__name__.lower()}")
        elif isinstance(node, ast.Compare) and any(is_environ(c) for c in node.comparators):
            names.add(_const(node.left) or "?")
        elif isinstance(node, ast.Call):
            func = node.func
            first = _const(node.args[0]) if node.args else None
            if isinstance(func, ast.Attribute) and is_environ(func.value):
                if func.attr in WRITES:
                    writes.append(f"line {node.lineno}: environ.{func.attr}")
                elif func.attr == "get":
                    names.add(first or "?")
            elif isinstance(func, ast.Attribute) and func.attr in ("putenv", "unsetenv"):
                writes.append(f"line {node.lineno}: os.{func.attr}")
            elif isinstance(func, ast.Attribute) and func.attr == "getenv":
                names.add(first or "?")
            elif first and ((isinstance(func, ast.Name) and func.id in table) or (
                    isinstance(func, ast.Attribute) and func.attr in ("read", "variable")
                    and isinstance(func.value, ast.Name) and func.value.id == "config")):
                names.add(first)
            elif any(is_environ(a) for a in [*node.args, *(k.value for k in node.keywords)]):
                handed = True
        elif isinstance(node, (ast.Assign, ast.IfExp, ast.Return)) and any(
                is_environ(n) for n in ast.iter_child_nodes(node)):
            handed = True
    if handed:
        names |= {n.value for n in ast.walk(tree) if _const(n) and ENV_NAME.match(n.value)}
    return names, writes


def _modules() -> dict[str, Path]:
    found = {}
    for entry in SOURCES:
        path = ROOT / entry
        for file in ([path] if path.is_file() else sorted(path.rglob("*.py"))):
            if "vendor" not in file.parts:
                found[".".join(file.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")] = file
    return found


def test_the_scanner_finds_reads_and_writes_of_the_environment():
    """The checks below can fail: an undeclared read is seen however it is written."""
    names, writes = environment_use(
        "import os\nfrom os import environ\nfrom flask_qed.config import read as _env\n"
        "a = os.environ.get('QED_NEW')\nb = os.environ['OTHER']\nc = os.getenv('THIRD')\n"
        "d = 'FOURTH' in os.environ\ne = environ.get('FIFTH')\nf = _env('SIXTH')\n"
        "del os.environ['OTHER']\nos.environ.setdefault('X', '1')\nos.environ['Y'] = '1'\n")
    assert names == {"QED_NEW", "OTHER", "THIRD", "FOURTH", "FIFTH", "SIXTH"}
    assert len(writes) == 3
    names, _ = environment_use("import os\nSETTING = 'HANDED_OVER'\nvalue = parse(os.environ)\n")
    assert names == {"HANDED_OVER"}
    assert environment_use("config = {}\nrows = config.get('QED_MAX_ROWS')\n") == (set(), [])


def test_no_code_reads_a_variable_that_is_not_declared():
    undeclared = []
    for module, path in _modules().items():
        names, _ = environment_use(path.read_text(encoding="utf-8"))
        undeclared += [f"{module}: {name}" for name in sorted(names - set(config.BY_NAME))]
    assert undeclared == [], "declare these in flask_qed.config.VARIABLES (or read a constant name)"


def test_each_variable_is_read_where_its_declaration_says():
    read_in = {module: environment_use(path.read_text(encoding="utf-8"))[0] for module, path in _modules().items()}
    for v in config.VARIABLES:
        assert v.name in read_in[v.reader], f"{v.name} is declared as read in {v.reader}"


def test_nothing_writes_the_environment():
    """prometheus-client and the apps' libraries read the environment: it is left as the
    process was started with (a child's environment is a copy, changed freely)."""
    writes = [f"{module} {w}" for module, path in _modules().items()
              for w in environment_use(path.read_text(encoding="utf-8"))[1]]
    assert writes == []


def test_every_settings_field_is_one_declared_variable():
    from dataclasses import fields
    assert len(config.BY_NAME) == len(config.VARIABLES)
    declared = [v.field for v in config.VARIABLES if v.field]
    assert sorted(declared) == sorted(f.name for f in fields(config.Settings))
    assert all(v.type in config.TYPES and v.meaning and "\n" not in v.meaning for v in config.VARIABLES)
    assert all(v.reader == "flask_qed.config" for v in config.VARIABLES if v.field)


def test_every_default_is_a_valid_setting(tmp_path):
    """The declared defaults, read back through their own types, pass the settings' checks."""
    s = load_settings({"QED_INSTANCE_PATH": str(tmp_path)})
    for v in config.VARIABLES:
        if v.field and not callable(v.default):
            assert getattr(s, v.field) == v.default, v.name


def _documented() -> dict[str, str]:
    """{variable: default cell} of the table in docs/configuration.md."""
    rows = {}
    for line in DOC.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) >= 3 and re.fullmatch(r"`[A-Z][A-Z0-9_]*`", cells[0]):
            rows[cells[0].strip("`")] = cells[2]
    return rows


def test_the_documentation_shows_every_variable_with_its_default():
    documented = _documented()
    assert {name: documented.get(name) for name in config.BY_NAME} == \
        {v.name: v.shown_default for v in config.VARIABLES}


def test_the_documentation_names_no_variable_that_is_not_declared():
    text = DOC.read_text(encoding="utf-8")
    named = set(re.findall(r"\b(?:QED|GUNICORN|PROMETHEUS|REDIS|MONGO)_[A-Z0-9_]*[A-Z0-9]\b", text))
    assert named - set(config.BY_NAME) == set()


def test_the_documented_table_is_written_from_the_declaration():
    """To bring it up to date: python -m flask_qed.config --write docs/configuration.md"""
    text = DOC.read_text(encoding="utf-8")
    assert config.with_table(text) == text


def test_the_startup_timeout_is_a_setting():
    assert load_settings({}).startup_timeout == 30
    assert load_settings({"QED_STARTUP_TIMEOUT": "1.5"}).startup_timeout == 1.5
    with pytest.raises(ValueError, match="QED_STARTUP_TIMEOUT"):
        load_settings({"QED_STARTUP_TIMEOUT": "soon"})


@pytest.mark.parametrize("raw", [None, "", " ", "5", " 7 ", "0", "-3", "many", "2.5"])
def test_the_hms_science_reads_qed_max_vertices_as_declared(raw):
    """The science layer imports no framework: its own reading must agree with the table."""
    from hms_flask import science
    env = {} if raw is None else {"QED_MAX_VERTICES": raw}
    assert science.VERTICES_SETTING == "QED_MAX_VERTICES"
    outcomes = []
    for reader in (science.max_vertices_from, lambda e: config.read("QED_MAX_VERTICES", e)):
        try:
            outcomes.append(reader(env))
        except ValueError as exc:
            outcomes.append(("refused", "QED_MAX_VERTICES" in str(exc)))
    assert outcomes[0] == outcomes[1]


def _gunicorn_settings(**env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("GUNICORN_", "QED_"))}
    code = ("from flask_qed import gunicorn_conf as g\n"
            "print(g.bind, g.workers, g.worker_class, g.threads, g.timeout, g.graceful_timeout, "
            "g.accesslog, g.loglevel)")
    return subprocess.run([sys.executable, "-c", code], env={**clean, **env}, cwd=ROOT, capture_output=True,
                          text=True, timeout=60)


def test_gunicorn_takes_the_declared_defaults_and_checks():
    done = _gunicorn_settings()
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == [str(config.read(n, {})) for n in (
        "QED_BIND", "GUNICORN_WORKERS", "GUNICORN_WORKER_CLASS", "GUNICORN_THREADS", "GUNICORN_TIMEOUT",
        "GUNICORN_GRACEFUL_TIMEOUT", "GUNICORN_ACCESSLOG", "GUNICORN_LOGLEVEL")]
    done = _gunicorn_settings(GUNICORN_WORKERS="3", GUNICORN_WORKER_CLASS="gthread", GUNICORN_ACCESSLOG=" ",
                              GUNICORN_TIMEOUT="0")
    assert done.stdout.split()[1:7] == ["3", "gthread", "4", "0", "30", "None"]
    done = _gunicorn_settings(GUNICORN_WORKERS="two")
    assert done.returncode != 0 and "GUNICORN_WORKERS must be an integer, got 'two'" in done.stderr
