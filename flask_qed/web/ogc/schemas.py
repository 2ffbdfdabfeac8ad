"""Schemas as OGC API - Processes 1.0 and OpenAPI 3.0 write them.

The model declarations give JSON Schema 2020-12 (pydantic's). OpenAPI 3.0 knows an older
dialect (:func:`to_oas30`), and a process description's ``schema`` members are held to
OGC's ``schema.yaml`` (requirements /req/ogc-process-description/input-def and
output-def), which is that dialect with no other member: no ``units``, no extensions
(:func:`fragment`). Units go beside the schema, as the description's
``additionalParameters`` (:func:`units_parameters`).
"""
from __future__ import annotations

from typing import Any

# The members OGC's schema.yaml allows in a schema (it refuses any other).
FRAGMENT_KEYS = frozenset({
    "title", "multipleOf", "maximum", "exclusiveMaximum", "minimum", "exclusiveMinimum", "maxLength",
    "minLength", "pattern", "maxItems", "minItems", "uniqueItems", "maxProperties", "minProperties",
    "required", "enum", "type", "not", "allOf", "oneOf", "anyOf", "items", "properties",
    "additionalProperties", "description", "format", "default", "nullable", "readOnly", "writeOnly",
    "example", "deprecated", "contentMediaType", "contentEncoding", "contentSchema"})
_KEEP = ("contentMediaType", "contentEncoding")  # kept by schema.yaml, dropped by to_oas30


def to_oas30(schema: Any) -> Any:
    """A JSON Schema (2020-12, as pydantic writes it) as an OpenAPI 3.0 Schema Object."""
    if isinstance(schema, list):
        return [to_oas30(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key == "$ref" and isinstance(value, str):
            out[key] = value.replace("#/$defs/", "#/components/schemas/")
        elif key == "properties":
            out[key] = {k: to_oas30(v) for k, v in value.items()}
        elif key == "const":
            out["enum"] = [value]
        elif key in ("exclusiveMinimum", "exclusiveMaximum") and not isinstance(value, bool):
            out["minimum" if key == "exclusiveMinimum" else "maximum"] = value
            out[key] = True
        elif key == "examples":
            if isinstance(value, list) and value:
                out["example"] = value[0]
        elif key in ("$defs", "$schema", "contentMediaType", "contentEncoding", "prefixItems", "$id",
                     "patternProperties"):
            continue
        elif key == "units":
            out["x-units"] = value
        elif key in ("section", "label", "units_by", "series"):  # the workbench's layout hints: extensions here
            out[f"x-{key}"] = value
        elif key == "type" and isinstance(value, list):
            types = [t for t in value if t != "null"]
            if "null" in value:
                out["nullable"] = True
            if len(types) == 1:
                out["type"] = types[0]
            elif types:
                out["anyOf"] = [{"type": t} for t in types]
        elif key in ("anyOf", "oneOf") and isinstance(value, list):
            rest = [s for s in value if not (isinstance(s, dict) and s.get("type") == "null")]
            if len(rest) < len(value):
                out["nullable"] = True
            if len(rest) == 1:
                out.update({k: v for k, v in to_oas30(rest[0]).items() if k not in out})
            else:
                out[key] = to_oas30(rest)
        elif key in ("items", "additionalProperties", "not"):
            out[key] = to_oas30(value)
        else:
            out[key] = value
    out = {k: v for k, v in out.items() if v is not None}
    if "$ref" in out and len(out) > 1:  # 3.0 ignores siblings of $ref: wrap it
        ref = out.pop("$ref")
        out = {"allOf": [{"$ref": ref}], **{k: v for k, v in out.items() if k in ("description", "title",
                                                                                 "default", "x-units")}}
    return out


def fragment(schema: Any) -> Any:
    """A JSON Schema as a schema fragment OGC's ``schema.yaml`` validates."""
    kept = {k: schema[k] for k in _KEEP if isinstance(schema, dict) and k in schema}
    return _only_fragment({**to_oas30(schema), **kept})


def _only_fragment(node: Any) -> Any:
    if not isinstance(node, dict):
        return node
    if set(node) == {"$ref"}:  # a reference object (reference.yaml)
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key not in FRAGMENT_KEYS:
            continue
        if key in ("not", "items") or (key == "additionalProperties" and isinstance(value, dict)):
            value = _only_fragment(value)
        elif key in ("allOf", "oneOf", "anyOf"):
            value = [_only_fragment(v) for v in value]
            if key == "anyOf" and _disjoint(value):
                key = "oneOf"  # a mixed-type input (/req/ogc-process-description/input-mixed-type)
        elif key == "properties":
            value = {k: _only_fragment(v) for k, v in value.items()}
        elif key in ("required", "enum") and not value:
            continue  # schema.yaml: at least one item
        out[key] = value
    return out


def _disjoint(alternatives: list[Any]) -> bool:
    """Whether no value can match two of the alternatives: each names one type, all
    different (an integer is a number too)."""
    types = [a.get("type") if isinstance(a, dict) else None for a in alternatives]
    return (all(isinstance(t, str) for t in types) and len(set(types)) == len(types)
            and not {"integer", "number"} <= set(types))


def units_parameters(units: str | None) -> dict[str, Any]:
    """An input's or output's units, as description members (``additionalParameters``)."""
    if not units:
        return {}
    return {"additionalParameters": {"title": "units", "parameters": [{"name": "units", "value": [units]}]}}
