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
    ("no_such_module:plugin", "QED_APPS no_such_module:plugin failed to load: ModuleNotFoundError"),
    ("tests.testapps:nothing", "QED_APPS tests.testapps:nothing failed to load: AttributeError"),
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
    with pytest.raises(PluginError, match="clashes with pram"):
        discover(["clash_app:plugin"])
    sys.modules.pop("clash_app", None)


def test_app_names_are_checked():
    with pytest.raises(PluginError):
        App(name="Bad Name")
    assert App(name="ok", prefix="ok/").prefix == "/ok"
