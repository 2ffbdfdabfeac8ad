"""Science apps are discovered through entry points; a broken or clashing plugin fails loudly."""
from __future__ import annotations

import sys
import textwrap

import pytest

from flask_qed.plugins import App, PluginError, discover


def test_builtin_apps_come_from_entry_points():
    apps = {a.name: a for a in discover()}
    assert apps["pram"].prefix == "/pram" and apps["hms"].prefix == "/hms"
    assert {"rice", "trex", "kabam"} <= {m.name for m in apps["pram"].models}
    assert apps["pram"].task_name(apps["pram"].model("rice")) == "pram.rice"


def test_extra_apps_by_module_spec():
    names = [a.name for a in discover(["tests.testapps:plugin"])]
    assert names[-1] == "testing" and {"pram", "hms"} <= set(names)


@pytest.mark.parametrize("spec,words", [
    ("no_such_module:plugin", "QED_APPS names 'no_such_module:plugin', but there is no module 'no_such_module'; "
                              "installed apps: "),
    ("tests.testapps:nothing", "QED_APPS names 'tests.testapps:nothing', but module tests.testapps has no 'nothing'"),
    ("tests.testapps", "QED_APPS entry 'tests.testapps' is not module:attr"),
    ("tests.testapps:os", "expected a flask_qed.App, got module"),
])
def test_a_broken_plugin_names_itself(spec, words):
    with pytest.raises(PluginError, match=words.replace("(", r"\(")):
        discover([spec])


def test_clashing_apps_are_refused(tmp_path, monkeypatch):
    (tmp_path / "clash_app.py").write_text(textwrap.dedent('''
        from flask_qed import App
        def plugin():
            return App(name="pram2", prefix="/pram")
    '''))
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(PluginError, match="app pram2's prefix /pram is taken by app pram, from entry point pram"):
        discover(["clash_app:plugin"])
    sys.modules.pop("clash_app", None)


def test_app_names_are_checked():
    with pytest.raises(PluginError):
        App(name="Bad Name")
    assert App(name="ok", prefix="ok/").prefix == "/ok"


def test_an_app_without_a_title_is_titled_by_its_name():
    assert App(name="soil").title == "soil" and App(name="soil", title="  ").title == "soil"
    assert App(name="soil", title="Soil half-life").title == "Soil half-life"


@pytest.mark.parametrize("app_name,package", [("pram", "pram_flask.models"), ("hms", "hms_flask.models")])
def test_each_built_in_model_declares_its_example_in_its_own_module(app_name, package):
    """One layout for every app: a model module declares EXAMPLE beside its inputs, and the
    plugin takes the model as declared (nothing is put into it afterwards)."""
    import importlib

    app = next(a for a in discover() if a.name == app_name)
    for model in app.models:
        module = importlib.import_module(f"{package}.{model.name}")
        assert isinstance(getattr(module, "EXAMPLE", None), dict), f"{module.__name__} declares no EXAMPLE"
        assert model.example is module.EXAMPLE, model.name
        assert model.example_source == getattr(module, "EXAMPLE_SOURCE", None), model.name
        model.validate(dict(model.example))  # an example that does not validate would prefill a broken form


@pytest.mark.parametrize("app", ["pram_flask", "hms_flask"])
def test_the_science_of_a_built_in_app_imports_no_framework_and_no_declaration(app):
    """The layout's rule (docs/adding-an-app.md): <app>/science holds pure functions; the
    declarations in <app>/models import the science, never the other way round."""
    import ast
    from pathlib import Path

    forbidden = ("flask", "flask_qed", "celery", "pydantic", "pymongo", f"{app}.models")
    science = Path(__file__).resolve().parents[1] / app / "science"
    modules = sorted(science.glob("*.py"))
    assert modules, f"{app} has no science package"
    for path in modules:
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names = [node.module or ""]
            elif isinstance(node, ast.ImportFrom) and node.level == 2:  # from .. (the app) import
                names = [f"{app}.{node.module}"] if node.module else [f"{app}.{a.name}" for a in node.names]
            else:
                continue
            for name in names:
                assert not any(name == f or name.startswith(f + ".") for f in forbidden), (path.name, name)
