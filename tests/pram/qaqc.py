"""EPA's published QA/QC cases for the ubertool models (copied into data/)."""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"
MODELS = ["agdrift", "beerex", "earthworm", "iec", "kabam", "rice", "sip", "stir",
          "terrplant", "therps", "trex"]
FILE_NAMES = {"sip": "screenip"}  # the QA/QC files keep ubertool's module name


def load_cases(model: str) -> list[tuple[str, dict[str, Any], dict[str, str]]]:
    """[(case, inputs, expected)]: inputs without empty cells, expected by out_ name."""
    stem = FILE_NAMES.get(model, model)
    with open(DATA / f"{stem}_in.csv", newline="") as fh:
        ins = {r["case"]: r for r in csv.DictReader(fh)}
    with open(DATA / f"{stem}_exp.csv", newline="") as fh:
        exps = {r["case"]: r for r in csv.DictReader(fh)}
    cases = []
    for case, row in ins.items():
        inputs = {k: v for k, v in row.items() if k != "case" and v != ""}
        expected = {"out_" + k[4:]: v for k, v in exps[case].items()
                    if k.startswith("exp_") and v != ""}
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
