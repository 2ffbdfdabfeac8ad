"""Processes described from the model declarations, and an execute request's inputs
turned into the native form."""
from __future__ import annotations

import copy
from typing import Any

from ...model import InputError, Model
from ...plugins import App
from .schemas import fragment, units_parameters

JSON = "application/json"
REL = "http://www.opengis.net/def/rel/ogc/1.0/"
TRANSMISSION = ("value", "reference")  # an output is sent inline, or as a link to its own URL


def process_index(apps: list[App]) -> dict[str, tuple[App, Model]]:
    """Process id (the task name) → its app and model, for every declared model."""
    return {app.task_name(m): (app, m) for app in apps if not app.factory for m in app.models}


def _inline(schema: Any, defs: dict[str, Any], depth: int = 0) -> Any:
    """The schema with local ``$ref``s replaced by their definitions (a description
    is read input by input, without the model's ``$defs``)."""
    if depth > 20:
        return {}
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            target = copy.deepcopy(defs.get(ref.split("/")[-1], {}))
            rest = {k: v for k, v in schema.items() if k != "$ref"}
            return _inline({**target, **rest}, defs, depth + 1)
        return {k: _inline(v, defs, depth + 1) for k, v in schema.items()}
    if isinstance(schema, list):
        return [_inline(v, defs, depth + 1) for v in schema]
    return schema


def is_array_schema(schema: dict[str, Any]) -> bool:
    if schema.get("type") == "array":
        return True
    return any(is_array_schema(s) for key in ("anyOf", "oneOf") for s in schema.get(key, [])
               if isinstance(s, dict))


def input_schemas(model: Model) -> tuple[dict[str, dict[str, Any]], set[str]]:
    """Each input's JSON Schema (units kept), and the names of the required ones."""
    schema = model.inputs.model_json_schema()
    defs = schema.get("$defs", {})
    props = {name: _inline(prop, defs) for name, prop in schema.get("properties", {}).items()}
    return props, set(schema.get("required", []))


def describe(pid: str, app: App, model: Model, base: str, full: bool = True) -> dict[str, Any]:
    """A process summary, or (``full``) its description with inputs and outputs."""
    href = f"{base}/processes/{pid}"
    body: dict[str, Any] = {
        "id": pid, "title": model.title, "description": model.description, "version": model.version,
        "keywords": [app.name, model.name], "jobControlOptions": ["async-execute", "sync-execute"],
        "outputTransmission": list(TRANSMISSION),
        "links": [{"href": href, "rel": "self", "type": JSON, "title": f"{model.title}: description"}]}
    if not full:
        return body
    props, required = input_schemas(model)
    many = model.max_rows if model.batch else 1
    body["inputs"] = {name: {
        "title": prop.get("title", name), "description": prop.get("description", ""), "schema": fragment(prop),
        "minOccurs": 1 if name in required else 0, "maxOccurs": many, **units_parameters(prop.get("units"))}
        for name, prop in props.items()}
    note = ("one value for a single run, else an array with one value per run, in run order"
            if model.batch else None)
    body["outputs"] = {name: {
        "title": name, "description": spec.get("description", ""),
        "schema": {k: v for k, v in (("description", note), ("contentMediaType", JSON)) if v is not None},
        **output_parameters(model, name, spec.get("units"))}
        for name, spec in model.outputs.items()}
    if model.risk is not None:  # each run's RQs at or above a level of concern (flask_qed.risk)
        body["outputs"]["exceeds"] = exceeds_output(note)
    example = execute_example(model)
    if example is not None:  # an execute request that runs, as it is: the declared example
        body["example"] = example
    if model.risk is not None:
        body["additionalParameters"] = risk_parameters(model)
    body["links"] += [
        {"href": f"{href}/execution", "rel": REL + "execute", "type": JSON, "title": "execute"},
        {"href": f"{base}/jobs?processID={pid}", "rel": REL + "job-list", "type": JSON,
         "title": "this process's jobs"}]
    return body


def execute_example(model: Model) -> dict[str, Any] | None:
    """The model's example run as an execute request (``{"inputs": {id: value}}``), or None.
    In a batch an array reads as one value per run, so an input that is itself an array of
    arrays (a matrix) is given as a one-run array around it."""
    if model.example is None:
        return None
    values = dict(model.example)
    if model.batch:
        props, _ = input_schemas(model)
        for name, value in values.items():
            if isinstance(value, list) and value and all(isinstance(v, list) for v in value) \
                    and is_array_schema(props.get(name, {})):
                values[name] = [value]
    return {"inputs": values}
def output_parameters(model: Model, name: str, units: str | None) -> dict[str, Any]:
    """An output's units and, for a risk quotient, the levels of concern it is compared to."""
    found = units_parameters(units)
    locs = model.risk.rqs.get(name) if model.risk is not None else None
    if locs:
        extra = {"name": "levels_of_concern",
                 "value": [model.risk.locs[n].describe() for n in locs]}  # type: ignore[union-attr]
        found = found or {"additionalParameters": {"title": "units and levels of concern", "parameters": []}}
        found["additionalParameters"]["parameters"].append(extra)
    return found


def exceeds_output(note: str | None) -> dict[str, Any]:
    """The description of a risk model's ``exceeds`` output: a run's exceedances, each the
    highest level of concern an RQ reaches (see ``additionalParameters``). An array either
    way (a run's list; a batch's, a list a run), so one type, as the standard asks."""
    return {"title": "exceeds",
            "description": "the risk quotients at or above a level of concern in a run, each as "
                           "{output, loc, level, value, ratio}: the highest level it reaches and value / level "
                           "(an empty list when none does)",
            "schema": {"type": "array", "contentMediaType": JSON, **({"description": note} if note else {})}}


def risk_parameters(model: Model) -> dict[str, Any]:
    """The process's risk quotients, levels of concern and glossary (``additionalParameters``):
    each run's results list, under ``exceeds``, the RQs at or above a level of concern."""
    risk = model.risk.describe()  # type: ignore[union-attr]
    return {"title": "risk at a glance", "parameters": [
        {"name": "rule", "value": [risk["rule"]]},
        {"name": "levels_of_concern", "value": list(risk["levels_of_concern"].values())},
        {"name": "risk_quotients", "value": [{"output": k, "levels_of_concern": v}
                                              for k, v in risk["risk_quotients"].items()]},
        {"name": "glossary", "value": [{"term": k, "meaning": v} for k, v in risk["glossary"].items()]}]}


# -- inputs: OGC execute request → the native form ---------------------------------------
_QUALIFIERS = {"value", "mediaType", "encoding", "schema", "format"}


def _unwrap(name: str, value: Any) -> Any:
    if isinstance(value, dict):
        if "href" in value and set(value) <= {"href", "rel", "type", "hreflang", "title"}:
            raise InputError([{"run": None, "field": name, "value": str(value["href"])[:200],
                               "rule": "inputs by reference are not fetched; send the value"}])
        if "value" in value and set(value) <= _QUALIFIERS:
            return value["value"]
    return value


def native_inputs(model: Model, given: Any) -> tuple[Any, bool]:
    """The native ``inputs`` for an OGC request's ``inputs``, and whether the runs
    were given as arrays (a batch: outputs are then arrays too)."""
    if not isinstance(given, dict):
        raise InputError([{"run": None, "field": "inputs", "value": None,
                           "rule": "must be an object: {input id: value}"}])
    values = {name: _unwrap(name, value) for name, value in given.items()}
    if not model.batch:
        return values, False
    props, _ = input_schemas(model)
    columns: dict[str, list[Any]] = {}
    for name, value in values.items():
        if isinstance(value, list):
            values[name] = value = [_unwrap(name, v) for v in value]
            own_array = is_array_schema(props.get(name, {}))
            if not own_array or (value and all(isinstance(v, list) for v in value)):
                columns[name] = value
    if not columns:
        return values, False
    lengths = {len(v) for v in columns.values()}
    if len(lengths) != 1 or 0 in lengths:
        raise InputError([{"run": None, "field": ", ".join(sorted(columns)), "value": sorted(lengths),
                           "rule": "array-valued inputs must all hold one value per run (the same, "
                                   "non-zero length)"}])
    runs = lengths.pop()
    rows = [{name: (columns[name][i] if name in columns else value) for name, value in values.items()}
            for i in range(runs)]
    return rows, True
