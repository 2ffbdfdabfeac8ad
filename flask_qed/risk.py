"""Risk at a glance: which outputs of a model are risk quotients (RQs), the levels of
concern (LOCs) they are compared to, and which runs reach them.

A model declares, beside its ``OUTPUTS``::

    RISK = {"out_arq_bird_sg_sm": ["acute", "acute_restricted", "acute_endangered"],
            "out_crq_dose_mamm_sg_sm": ["chronic"]}       # RQ output -> the LOCs it is compared to
    LOCS = {"bee_acute": {"level": 0.4, "label": "bee acute", "source": "..."}}  # optional: its own LOCs
    GLOSSARY = {"bl": "broadleaf plants"}                 # optional: abbreviations of its output names

The standard LOCs (:data:`LOCS`: EPA's terrestrial and aquatic LOCs for acute, acute
restricted use, acute endangered species and chronic risk) need no declaration; a model's
``LOCS`` adds to them (or overrides one). :data:`GLOSSARY` holds the abbreviations output
names share; a model's ``GLOSSARY`` adds its own.

An RQ *reaches* a LOC when ``value >= level`` (as EPA's models compare: ubertool's
TerrPlant, SIP and STIR all call a ratio at the level a concern). A run's exceedances list,
for each RQ that reaches any of its LOCs, the highest LOC reached (see :meth:`Risk.exceeds`).

Pure: numpy and orjson only, nothing of Flask or of the rest of the framework.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from types import ModuleType
from typing import Any, Mapping, Sequence

import numpy as np
import orjson

__all__ = ["Loc", "LOCS", "GLOSSARY", "Risk", "exceeds_text"]

EPA_LOCS = ("EPA Office of Pesticide Programs, levels of concern for terrestrial and aquatic "
            "animals (Overview of the Ecological Risk Assessment Process)")


@dataclass(frozen=True)
class Loc:
    """A level of concern: an RQ at or above ``level`` is a concern of this kind."""
    name: str
    level: float
    label: str
    source: str = ""

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "level": self.level, "label": self.label, "source": self.source}


LOCS: dict[str, Loc] = {loc.name: loc for loc in (
    Loc("acute", 0.5, "acute", EPA_LOCS),
    Loc("acute_restricted", 0.2, "acute restricted use", EPA_LOCS),
    Loc("acute_endangered", 0.1, "acute endangered species", EPA_LOCS),
    Loc("chronic", 1.0, "chronic", EPA_LOCS),
)}

ACUTE = ("acute", "acute_restricted", "acute_endangered")  # the three acute LOCs, a common list
CHRONIC = ("chronic",)

GLOSSARY: dict[str, str] = {
    "rq": "risk quotient (exposure / toxicity)", "arq": "acute risk quotient", "crq": "chronic risk quotient",
    "loc": "level of concern", "eec": "estimated environmental concentration",
    "ld50": "median lethal dose", "lc50": "median lethal concentration (dietary)",
    "noaec": "no-observed-adverse-effect concentration", "noael": "no-observed-adverse-effect level",
    "sg": "short grass", "tg": "tall grass", "bp": "broadleaf plants", "fp": "fruits and pods",
    "fr": "fruits and pods", "ar": "arthropods", "se": "seeds",
    "sm": "small", "md": "medium", "lg": "large",
    "mamm": "mammal", "bird": "bird", "diet": "dietary (concentration in food)", "dose": "dose-based",
    "out": "output",
}


@dataclass(frozen=True)
class Risk:
    """A model's RQ declaration: ``rqs`` (output -> names of its LOCs), the ``locs`` it
    uses, and the ``glossary`` of its output names' abbreviations."""
    rqs: Mapping[str, Sequence[str]]
    locs: Mapping[str, Loc]
    glossary: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_module(cls, module: ModuleType) -> "Risk | None":
        """The declaration in a model module's ``RISK``/``LOCS``/``GLOSSARY``, or None
        when it declares no RQs. An unknown LOC name is a mistake in the model: ValueError."""
        rqs = getattr(module, "RISK", None)
        if not rqs:
            return None
        table = dict(LOCS)
        for name, spec in (getattr(module, "LOCS", None) or {}).items():
            table[name] = spec if isinstance(spec, Loc) else Loc(name, float(spec["level"]),
                                                                 spec.get("label", name), spec.get("source", ""))
        outputs = getattr(module, "OUTPUTS", {})
        for output, names in rqs.items():
            unknown = [n for n in names if n not in table]
            if unknown or (outputs and output not in outputs):
                raise ValueError(f"{module.__name__}: RISK[{output!r}] names an unknown "
                                 f"{'LOC ' + ', '.join(unknown) if unknown else 'output'}")
        used = {n for names in rqs.values() for n in names}
        glossary = {**GLOSSARY, **(getattr(module, "GLOSSARY", None) or {})}
        return cls({k: tuple(v) for k, v in rqs.items()}, {n: table[n] for n in table if n in used}, glossary)

    def describe(self) -> dict[str, Any]:
        """What a model description says of its RQs: the rule, the LOCs, each RQ's LOCs."""
        return {"rule": "an RQ at or above a level of concern (value >= level) is flagged",
                "levels_of_concern": {n: loc.describe() for n, loc in self.locs.items()},
                "risk_quotients": {k: list(v) for k, v in self.rqs.items()},
                "glossary": dict(self.glossary)}

    def reached(self, outputs: Mapping[str, Any], n: int) -> list[tuple[str, np.ndarray, np.ndarray, np.ndarray]]:
        """For each RQ output present: (output, its values as float64, index of the highest
        LOC each run reaches in its levels-descending list — -1 for none, that list's
        levels). Vectorised: a few numpy operations per RQ, none per run."""
        found = []
        for output, names in self.rqs.items():
            values = _floats(outputs.get(output), n)
            if values is None:
                continue
            ordered = sorted(names, key=lambda name: -self.locs[name].level)
            levels = np.array([self.locs[name].level for name in ordered])
            which = np.full(n, -1, dtype=np.int64)
            with np.errstate(invalid="ignore"):
                for i in range(len(levels) - 1, -1, -1):  # lowest first: the highest reached wins
                    which[values >= levels[i]] = i
            found.append((output, values, which, levels))
        return found

    def exceeds(self, outputs: Mapping[str, Any], n: int) -> list[list[dict[str, Any]]]:
        """Each run's exceedances, in run order: for every RQ that reaches one of its LOCs,
        ``{"output", "loc", "level", "value", "ratio"}`` for the highest LOC it reaches
        (``ratio`` = value / level; an infinite value is null, as JSON has no infinity)."""
        keys = [str(i) for i in range(n)]
        found = orjson.loads(b"{" + self.exceeds_json(outputs, keys) + b"}")
        return [found[key] for key in keys]

    def exceeds_json(self, outputs: Mapping[str, Any], keys: list[str]) -> bytes:
        """``"key":[...]`` members, comma-separated, of the runs ``keys``: the JSON text of
        ``dict(zip(keys, self.exceeds(outputs, len(keys))))`` without its braces. Made as
        text from the arrays (numbers written by orjson a column at a time), never as a
        dict an exceedance: a batch of 10,000 T-REX runs has some 300,000 of them."""
        n = len(keys)
        runs: list[np.ndarray] = []
        parts: list[list[bytes]] = []
        for output, values, which, levels in self.reached(outputs, n):
            hit = np.flatnonzero(which >= 0)
            if not hit.size:
                continue
            ordered = sorted(self.rqs[output], key=lambda name: -self.locs[name].level)
            heads = [b'{"output":%s,"loc":%s,"level":%s,"value":' % (
                orjson.dumps(output), orjson.dumps(name), orjson.dumps(float(levels[i])))
                for i, name in enumerate(ordered)]
            chosen = which[hit]
            shown = values[hit]
            value_text = _numbers(shown)
            ratio_text = _numbers(shown / levels[chosen])
            parts.append([heads[i] + v + b',"ratio":' + r + b"}"
                          for i, v, r in zip(chosen.tolist(), value_text, ratio_text)])
            runs.append(hit)
        by_run: list[list[bytes]] = [[] for _ in range(n)]
        for hit, texts in zip(runs, parts):
            for run, text in zip(hit.tolist(), texts):
                by_run[run].append(text)
        names = [orjson.dumps(key) for key in keys]
        return b",".join([name + b":[" + b",".join(texts) + b"]" for name, texts in zip(names, by_run)])


    def exceeds_cells(self, outputs: Mapping[str, Any], n: int) -> list[str]:
        """Each run's exceedances as its CSV cell: :func:`exceeds_text` of what
        :meth:`exceeds_json` writes for the run, made from the arrays."""
        cells: list[list[str]] = [[] for _ in range(n)]
        for output, values, which, levels in self.reached(outputs, n):
            hit = np.flatnonzero(which >= 0)
            if not hit.size:
                continue
            ordered = sorted(self.rqs[output], key=lambda name: -self.locs[name].level)
            texts = [f"{output}>={_level(float(levels[i]))} ({name})" for i, name in enumerate(ordered)]
            for run, i in zip(hit.tolist(), which[hit].tolist()):
                cells[run].append(texts[i])
        return ["; ".join(cell) for cell in cells]


def exceeds_text(entries: Any) -> str:
    """One run's exceedances as one CSV cell: ``output>=level (loc)``, semicolon-separated
    (empty when the run has none, or when ``entries`` is not a list of them)."""
    if not isinstance(entries, list):
        return ""
    return "; ".join(f"{e.get('output')}>={_level(e.get('level'))} ({e.get('loc')})"
                     for e in entries if isinstance(e, dict))


def _level(level: Any) -> str:
    return repr(float(level)) if isinstance(level, (int, float)) else str(level)


def _numbers(values: np.ndarray) -> list[bytes]:
    """Each float's JSON text (infinities as null), from one orjson call."""
    text = orjson.dumps(np.ascontiguousarray(values, dtype=np.float64), option=orjson.OPT_SERIALIZE_NUMPY)
    return text[1:-1].split(b",")


def _floats(col: Any, n: int) -> np.ndarray | None:
    """A column as float64 (null -> NaN), or None when it is not one number per run."""
    if col is None:
        return None
    try:
        values = np.asarray(col, dtype=np.float64)
    except (TypeError, ValueError):
        return None
    if values.ndim == 0 or values.size == 1:
        return np.broadcast_to(values.reshape(()), (n,))
    return values if values.shape == (n,) else None
