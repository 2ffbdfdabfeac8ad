"""EPA's published QA/QC cases for the ubertool models (copied into data/)."""
from __future__ import annotations

import csv
import functools
import importlib
import math
from pathlib import Path
from typing import Any

import pytest

from flask_qed.model import InputError, Model

DATA = Path(__file__).parent / "data"
MODELS = ["agdrift", "beerex", "earthworm", "iec", "kabam", "rice", "sip", "stir",
          "terrplant", "therps", "trex"]
FILE_NAMES = {"sip": "screenip"}  # the QA/QC files keep ubertool's module name


def epa_value(cell: str) -> Any:
    """A cell as EPA's files hold it and clients post it: a blank stays "", a number
    (identifiers such as pc_code too) is a JSON number, anything else is text."""
    if cell == "":
        return ""
    try:
        return int(cell)
    except ValueError:
        pass
    try:
        value = float(cell)
    except ValueError:
        return cell
    return value if math.isfinite(value) else cell


def load_cases(model: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """[(case, inputs, expected)]: every input cell (blanks as ""), expected by out_ name."""
    stem = FILE_NAMES.get(model, model)
    with open(DATA / f"{stem}_in.csv", newline="") as fh:
        ins = {r["case"]: r for r in csv.DictReader(fh)}
    with open(DATA / f"{stem}_exp.csv", newline="") as fh:
        exps = {r["case"]: r for r in csv.DictReader(fh)}
    # A blank expected cell is an output ubertool leaves NaN (null here), except in a
    # column blank for every case: EPA published no value for that output at all.
    published = {k for k in next(iter(exps.values()))
                 if k.startswith("exp_") and any(r[k] != "" for r in exps.values())}
    cases = []
    for case, row in ins.items():
        inputs = {k: epa_value(v) for k, v in row.items() if k != "case"}
        expected = {"out_" + k[4:]: (v if v != "" else "nan") for k, v in exps[case].items()
                    if k in published}
        cases.append((case, inputs, expected))
    return cases


def tolerance(model: str) -> float:
    return 1e-3 if model == "agdrift" else 1e-5


def mismatches(expected: dict[str, str], actual: dict[str, Any], rtol: float) -> list[str]:
    """Names and values of outputs that differ from EPA's expected values."""
    bad = []
    for name, want in expected.items():
        if name not in actual:
            bad.append(f"{name}: missing (want {want!r})")
            continue
        got = actual[name]
        try:
            want_num = float(want)
        except ValueError:
            if str(got) != want:
                bad.append(f"{name}: got {got!r}, want {want!r}")
            continue
        if got is None or isinstance(got, str):
            if not (got is None and math.isnan(want_num)):
                bad.append(f"{name}: got {got!r}, want {want_num!r}")
            continue
        if not math.isclose(float(got), want_num, rel_tol=rtol, abs_tol=1e-12):
            bad.append(f"{name}: got {got!r}, want {want_num!r}")
    return bad


@functools.cache
def pram_model(name: str) -> Model:
    """The declaration of a PRAM model, as the worker builds it."""
    return Model.from_module(importlib.import_module(f"pram_flask.models.{name}"))


def case_inputs(name: str, index: int = 0, **changes: Any) -> dict[str, Any]:
    """The inputs of a QA/QC case (by position) without its blanks, some of them changed."""
    return {**{k: v for k, v in load_cases(name)[index][1].items() if v != ""}, **changes}


def outputs(name: str, inputs: Any) -> dict[str, dict[str, Any]]:
    """Validate and run as the worker does; the outputs in column form."""
    m = pram_model(name)
    return m.run(m.validate(inputs))["outputs"]


def input_errors(name: str, inputs: Any) -> list[dict[str, Any]]:
    """The errors (run, field, value, rule) of inputs that must be refused."""
    with pytest.raises(InputError) as info:
        pram_model(name).validate(inputs)
    return info.value.errors
