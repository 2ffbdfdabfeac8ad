"""Callback subscribers: which URLs a job may notify when it starts and ends.

A job may name a ``subscriber`` (OGC API – Processes' callback object). It is
checked when the job is submitted and again before each notification is sent
(flask_qed.callbacks): only http(s) URLs whose host is on
``QED_CALLBACK_ALLOWLIST``, and a listed name must not resolve to a private,
loopback or link-local address unless that network is listed too.
"""
from __future__ import annotations

import ipaddress
import socket
from typing import Any, Iterable
from urllib.parse import urlsplit

from ..model import InputError

FIELDS = ("successUri", "failedUri", "inProgressUri")


def check_subscriber(value: Any, allowlist: Iterable[str]) -> dict[str, str]:
    """The subscriber object as stored, or :class:`InputError` (422) naming the bad URL."""
    if not isinstance(value, dict) or not value:
        raise InputError([{"run": None, "field": "subscriber", "value": None,
                           "rule": f"must be an object with one or more of {', '.join(FIELDS)}"}])
    errors = []
    for key, url in value.items():
        if key not in FIELDS:
            errors.append({"run": None, "field": f"subscriber.{key}", "value": None,
                           "rule": f"unknown; use {', '.join(FIELDS)}"})
            continue
        reason = refusal(url, allowlist) if isinstance(url, str) else "must be a URL string"
        if reason:
            errors.append({"run": None, "field": f"subscriber.{key}", "value": str(url)[:200],
                           "rule": reason})
    if errors:
        raise InputError(errors)
    return {k: v for k, v in value.items()}


def refusal(url: str, allowlist: Iterable[str], resolve: bool = True) -> str | None:
    """Why ``url`` may not be called back (None: it may)."""
    try:
        parts = urlsplit(url)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return "is not a valid URL"
    if parts.scheme not in ("http", "https"):
        return "must be an http or https URL"
    if parts.username or parts.password:
        return "must not carry credentials"
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        return "has no host"
    names, networks = _allowlist(allowlist)
    literal = _address(host)
    if literal is not None:
        if any(literal in net for net in networks):
            return None
        return f"host {host} is not on QED_CALLBACK_ALLOWLIST"
    if host not in names:
        return f"host {host} is not on QED_CALLBACK_ALLOWLIST"
    if not resolve:
        return None
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return f"host {host} cannot be resolved"
    for info in infos:
        address = ipaddress.ip_address(info[4][0].split("%")[0])
        if not address.is_global and not any(address in net for net in networks):
            return f"host {host} resolves to the non-public address {address}, which is not listed"
    return None


def _allowlist(entries: Iterable[str]) -> tuple[set[str], list[Any]]:
    names: set[str] = set()
    networks: list[Any] = []
    for entry in entries:
        entry = entry.strip().lower().strip("[]")
        if not entry:
            continue
        try:
            networks.append(ipaddress.ip_network(entry, strict=False))
        except ValueError:
            names.add(entry.rstrip("."))
    return names, networks


def _address(host: str) -> Any:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None
