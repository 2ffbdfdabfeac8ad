"""The browser workbench at ``/ui/``: a catalogue, a form per model, job pages, my jobs.

Every page is derived from the model declarations (their JSON Schema, units,
examples), so a new science app gets its pages with no UI code. The pages are
server-rendered shells that hold no job data: their scripts read jobs and
results through the native API (``/jobs/...``) with the API key the user
entered, sent as a header and kept in ``sessionStorage``. That is why the
workbench is mounted beside the front door rather than behind it: a browser
cannot add a key header to a page navigation, and nothing behind a key is on
these pages. The workbench sets its own security headers (a strict CSP: its
own scripts and styles only, no inline code).

The pages sit behind the front door like every route (rate limit, headers),
which lets them through without a key (``security.PUBLIC_PREFIXES``); the
redirect of a browser's ``GET /`` sits outside it, so that it works with keys on.
Without a key file the API is open and lists every client's jobs to anyone:
the job pages say so plainly.
"""
from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path
from typing import Any, Callable, Iterable

from flask import Flask, Response, abort, render_template, request

from ...model import Model
from ...plugins import App
from ...runtime import Runtime
from ..errors import register_error_handlers
from ..units import display as unit_display

HERE = Path(__file__).resolve().parent
PREFIX = "/ui"
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def mount(runtime: Runtime, celery: Any = None) -> dict[str, Any]:
    """The workbench, to mount at ``/ui``."""
    return {PREFIX: create_ui(runtime).wsgi_app}


def browser_home(gateway: Callable[..., Any]) -> Callable[..., Any]:
    """The gateway with ``GET /`` from a browser sent to ``/ui/``."""
    return _BrowserHome(gateway, gateway)


class _BrowserHome:
    """``GET /`` asked for HTML before JSON (a browser) is sent to ``/ui/``; API
    clients (JSON, or anything with no preference) still get the JSON index."""

    def __init__(self, app: Callable[..., Any], gateway: Callable[..., Any]):
        self.app, self.gateway = app, gateway

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") in ("", "/") and environ.get("REQUEST_METHOD") in ("GET", "HEAD") \
                and _prefers_html(environ.get("HTTP_ACCEPT", "")):
            location = environ.get("SCRIPT_NAME", "").rstrip("/") + PREFIX + "/"
            body = json.dumps({"location": location}).encode()
            start_response("302 Found", [("Location", location), ("Content-Type", "application/json"),
                                         ("Content-Length", str(len(body))), *_HEADERS,
                                         ("Cache-Control", "no-store"), ("Vary", "Accept")])
            return [body]
        return self.app(environ, start_response)


def _prefers_html(accept: str) -> bool:
    from werkzeug.datastructures import MIMEAccept
    from werkzeug.http import parse_accept_header
    accepted = parse_accept_header(accept, MIMEAccept)
    return accepted.best_match(["application/json", "text/html"]) == "text/html" \
        and accepted["text/html"] > accepted["application/json"]


_HEADERS = [("X-Content-Type-Options", "nosniff"), ("X-Frame-Options", "DENY"),
            ("Referrer-Policy", "no-referrer")]


def create_ui(runtime: Runtime) -> Flask:
    """The workbench's Flask app: one short view per page (a few lines over the usual
    length, to keep every route of the workbench in one list)."""
    ui = Flask("flask_qed.ui", root_path=str(HERE), template_folder="templates",
               static_folder="static", static_url_path="/static")
    ui.url_map.strict_slashes = False
    ui.jinja_env.trim_blocks = ui.jinja_env.lstrip_blocks = True
    register_error_handlers(ui)  # a wrong /ui/ path is a JSON 404 like any other
    apps = [a for a in runtime.apps if a.models]

    def lookup(app_name: str, model_name: str) -> tuple[App, Model]:
        app = next((a for a in apps if a.name == app_name), None)
        model = app.model(model_name) if app else None
        if model is None:
            abort(404)
        return app, model  # type: ignore[return-value]

    @ui.after_request
    def headers(response: Response) -> Response:
        for name, value in _HEADERS:
            response.headers.setdefault(name, value)
        response.headers["Content-Security-Policy"] = CSP
        if request.endpoint == "static":
            response.headers["Cache-Control"] = "no-cache"  # revalidate: a new version shows at once
        else:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    @ui.context_processor
    def common() -> dict[str, Any]:
        # keys_on: whether the front door asks for API keys (it says so in the environ);
        # without keys every job is everyone's, and the job pages say so.
        return {"api_root": request.script_root[:-len(PREFIX)] if request.script_root.endswith(PREFIX)
                else request.script_root, "ui_root": request.script_root,
                "keys_on": bool(request.environ.get("qed.keys"))}

    @ui.get("/")
    def catalogue() -> str:
        return render_template("catalogue.html", apps=apps)

    @ui.get("/<app_name>/<model_name>")
    def form(app_name: str, model_name: str) -> str:
        app, model = lookup(app_name, model_name)
        fields = form_fields(model)
        return render_template("form.html", app=app, model=model, fields=fields,
                               sections=form_sections(model, fields),
                               spec=json.dumps(_client_spec(app, model, fields)))

    @ui.get("/<app_name>/<model_name>/template.csv")
    def template_csv(app_name: str, model_name: str) -> Response:
        app, model = lookup(app_name, model_name)
        if not model.batch:
            abort(404)
        return Response(batch_template(model), mimetype="text/csv", headers={
            "Content-Disposition": f'attachment; filename="{app.name}-{model.name}-template.csv"'})

    @ui.get("/jobs")
    def my_jobs() -> str:
        return render_template("jobs.html", models={f"{a.name}/{m.name}": m.title
                                                    for a in apps for m in a.models})

    @ui.get("/jobs/<job_id>")
    def job(job_id: str) -> str:
        return render_template("job.html", job_id=job_id)

    return ui


# -- forms from JSON Schema ------------------------------------------------------------
def form_fields(model: Model) -> list[dict[str, Any]]:
    """One entry per input, everything a form needs: kind, rules, units, help, value."""
    schema = model.inputs.model_json_schema()
    required = set(schema.get("required", ()))
    example = dict(model.example or {})
    fields = []
    for name, prop in schema.get("properties", {}).items():
        prop = _resolve(prop, schema)
        variants = [_resolve(v, schema) for v in prop.get("anyOf", [prop])]
        nullable = any(v.get("type") == "null" for v in variants)
        variants = [v for v in variants if v.get("type") != "null"] or [{}]
        words = [v["const"] for v in variants if isinstance(v.get("const"), str)]  # "calculated"
        variants = [v for v in variants if "const" not in v] or variants
        scalar = next((v for v in variants if v.get("type") != "array"), None)
        array = next((v for v in variants if v.get("type") == "array"), None)
        base = scalar if scalar is not None else _resolve(array.get("items", {}), schema) if array else {}
        if array is not None and (scalar is not None and scalar.get("type") not in ("number", "integer", "string")
                                  or _resolve(array.get("items", {}), schema).get("type")
                                  not in ("number", "integer", "string")):
            array, scalar, base = None, None, {"type": "object"}  # lists of objects or lists: JSON text
        kind = "text" if words else _kind(base)
        value = example[name] if name in example else prop.get("default")
        field = {
            "name": name, "kind": kind, "required": name in required and not nullable,
            "units": prop.get("units") or "", "description": prop.get("description") or "",
            "unit_symbol": unit_display(prop.get("units")), "section": prop.get("section") or "Inputs", "declared_section": bool(prop.get("section")),
            "units_by": _units_by(prop.get("units_by")),
            "type": base.get("type") or ("object" if kind == "json" else "string"),
            "list": array is not None, "scalar_ok": scalar is not None,
            "min_items": (array or {}).get("minItems", 1 if array else 0),
            "options": list(base.get("enum", [])),
            "minimum": base.get("minimum"), "maximum": base.get("maximum"),
            "exclusiveMinimum": base.get("exclusiveMinimum"), "exclusiveMaximum": base.get("exclusiveMaximum"),
            "default": prop.get("default"), "words": words,
        }
        field["series"] = _series_kind(field, prop)
        field["range"] = ", or ".join(filter(None, [_range_text(field) or ("a number" if words else ""),
                                                    " / ".join(words)]))
        field["values"] = _as_values(value, field)
        field["label"] = prop.get("label") or _label_of(field["description"]) or name.replace("_", " ")
        field["help"] = "" if field["label"] == field["description"].rstrip(".") else field["description"]
        fields.append(field)
    return fields


def _series_kind(field: dict[str, Any], prop: dict[str, Any]) -> str | None:
    """A list of numbers is entered as a pasted column (a series): "time" when the model
    says its rows are time steps (the ``series`` hint), else "values"; None for other inputs."""
    if not field["list"] or field["kind"] != "number" or field["words"]:
        return None
    return "time" if prop.get("series") == "time" else "values"


def _units_by(rule: Any) -> dict[str, Any] | None:
    """Units that follow another input, as symbols: {"field": ..., "units": {value: units}}."""
    if not isinstance(rule, dict) or not isinstance(rule.get("units"), dict):
        return None
    return {"field": rule.get("field"), "units": {k: unit_display(v) for k, v in rule["units"].items()}}


def _label_of(description: str) -> str:
    """A readable label from a description: its words before any aside ("(...)", ": ...",
    ", e.g. ...")."""
    head = re.split(r" \(|: |, e\.g\.|; ", description, maxsplit=1)[0].strip().rstrip(".")
    return head[:1].upper() + head[1:] if len(head) <= 70 else ""


def form_sections(model: Model, fields: list[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """The fields grouped in the model's sections (``SECTIONS``), in their declared order,
    then any others as they first appear; an input's own ``section`` wins."""
    declared = {name: title for title, names in model.sections.items() for name in names}
    section = {f["name"]: f["section"] if f["declared_section"] else declared.get(f["name"], "Inputs")
               for f in fields}
    order = list(model.sections)
    for f in fields:
        if section[f["name"]] not in order:
            order.append(section[f["name"]])
    groups = [(title, [f for f in fields if section[f["name"]] == title]) for title in order]
    return [(title, group) for title, group in groups if group]


def _resolve(prop: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    """Follow a local ``$ref`` (enums and nested models end up in ``$defs``)."""
    ref = prop.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/$defs/"):
        target = schema.get("$defs", {}).get(ref.split("/")[-1], {})
        return {**target, **{k: v for k, v in prop.items() if k != "$ref"}}
    if "allOf" in prop and len(prop["allOf"]) == 1:
        return {**_resolve(prop["allOf"][0], schema), **{k: v for k, v in prop.items() if k != "allOf"}}
    return prop


def _kind(base: dict[str, Any]) -> str:
    kind_of = base.get("type")
    if base.get("enum"):
        return "select"
    if kind_of in ("number", "integer"):
        return "number"
    if kind_of == "boolean":
        return "checkbox"
    if kind_of in ("object", "array"):
        return "json"
    if kind_of == "string" and base.get("format") in ("date-time", "date"):
        return "datetime"
    return "text"


def _range_text(field: dict[str, Any]) -> str:
    parts = []
    for key, sign in (("minimum", "≥"), ("exclusiveMinimum", ">"), ("maximum", "≤"), ("exclusiveMaximum", "<")):
        if field[key] is not None:
            parts.append(f"{sign} {_num(field[key])}")
    return ", ".join(parts)


def _num(value: Any) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _as_values(value: Any, field: dict[str, Any]) -> list[str]:
    """The form's text for a value: one string, or one per row of a list input."""
    if value is None:
        return [""] if not field["list"] else []
    if field["kind"] == "json":
        return [json.dumps(value)]
    if field["list"]:
        items = value if isinstance(value, list) else [value]
        return [_text(v) for v in items]
    return [_text(value)]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return _num(value)
    return str(value)


def _client_spec(app: App, model: Model, fields: list[dict[str, Any]]) -> dict[str, Any]:
    """What the form's script needs to type values and check them."""
    return {"app": app.name, "model": model.name, "batch": model.batch, "max_rows": model.max_rows,
            "url": f"{app.prefix}/{model.name}", "upload_field": model.upload_field,
            "fields": [{k: f[k] for k in ("name", "kind", "type", "required", "list", "scalar_ok", "words",
                                          "min_items", "options", "minimum", "maximum", "series",
                                          "exclusiveMinimum", "exclusiveMaximum")} for f in fields]}


def batch_template(model: Model) -> str:
    """A CSV with one column per input and the example (or the defaults) as its one row."""
    fields = form_fields(model)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([f["name"] for f in fields])
    row = []
    for f in fields:
        if f["list"]:
            row.append("[" + ",".join(f["values"]) + "]" if f["values"] else "")
        else:
            row.append(f["values"][0] if f["values"] else "")
    writer.writerow(row)
    return buffer.getvalue()


__all__ = ["create_ui", "mount", "form_fields", "form_sections", "batch_template"]
