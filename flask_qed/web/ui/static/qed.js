/* The workbench's shared helpers: the API key, calls to the native API, small DOM helpers.
   The key lives in sessionStorage (this tab only) and goes out as a header, never in a URL. */
"use strict";
const QED = (() => {
  const KEY = "qed.apiKey";
  const api = document.body.dataset.api || "";
  const ui = document.body.dataset.ui || "/ui";

  function key() {
    try { return sessionStorage.getItem(KEY) || ""; } catch (e) { return ""; }
  }
  function setKey(value) {
    try {
      if (value) sessionStorage.setItem(KEY, value); else sessionStorage.removeItem(KEY);
    } catch (e) { /* storage refused: the key lasts for this page only */ }
    showKeyState();
  }
  function headers(extra) {
    const h = new Headers(extra || {});
    const k = key();
    if (k) h.set("Authorization", "Bearer " + k);
    return h;
  }
  async function call(path, options) {
    const opts = Object.assign({ cache: "no-store", credentials: "same-origin" }, options || {});
    opts.headers = headers(opts.headers);
    const response = await fetch(api + path, opts);
    if (response.status === 401) needKey();
    return response;
  }
  async function body(response) {
    try { return await response.json(); } catch (e) { return null; }
  }
  /* An API error in plain words. */
  function plain(status, data) {
    const message = data && data.message ? data.message : "";
    switch (status) {
      case 401: return "This server needs an API key. Enter yours under “API key” at the top of the page.";
      case 404: return "Not found. A job is kept for 24 hours, and only the key that made it can see it.";
      case 413: return "The request is too large for this server.";
      case 429: return "Too many requests or jobs at once. " + message;
      case 503: return "The service is unavailable just now (its queue or its store is down). Try again in a minute.";
      default: return message || ("The server answered " + status + ".");
    }
  }
  function notice(text) {
    const box = document.getElementById("notice");
    if (!box) return;
    box.textContent = text || "";
    box.hidden = !text;
  }
  function needKey() {
    const panel = document.getElementById("key-panel");
    notice(plain(401));
    if (panel && !panel.open) {
      panel.open = true;
      const input = document.getElementById("api-key");
      if (input) input.focus();
    }
  }
  function showKeyState() {
    const state = document.getElementById("key-state");
    if (state) state.textContent = key() ? "(in use)" : "(none)";
  }
  /* el("a", {href: "x", text: "y"}, child, ...) */
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [name, value] of Object.entries(attrs || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (name === "text") node.textContent = value;
      else if (name === "className") node.className = value;
      else node.setAttribute(name, value === true ? "" : value);
    }
    for (const child of children) if (child !== null && child !== undefined) node.append(child);
    return node;
  }
  function saveBlob(blob, filename) {
    const url = URL.createObjectURL(blob);
    const a = el("a", { href: url, download: filename });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  }
  /* Fetch with the key and save what comes back as a file. */
  async function download(path, filename, accept) {
    const response = await call(path, { headers: accept ? { Accept: accept } : {} });
    if (!response.ok) { notice(plain(response.status, await body(response))); return false; }
    saveBlob(await response.blob(), filename);
    return true;
  }
  function fmt(value) {
    if (value === null || value === undefined) return "n/a";
    if (typeof value === "number") {
      if (!isFinite(value)) return String(value);
      if (Number.isInteger(value)) return String(value);
      const a = Math.abs(value);
      return (a !== 0 && (a < 1e-4 || a >= 1e9)) ? value.toExponential(6) : String(+value.toPrecision(8));
    }
    if (typeof value === "object") return JSON.stringify(value);
    return String(value);
  }
  /* A time as ISO 8601 in the browser's zone, with its offset: 2026-05-04 14:03:07+02:00. */
  function when(iso) {
    if (!iso) return "";
    const d = new Date(iso);
    if (isNaN(d)) return iso;
    const p = (n) => String(Math.abs(n)).padStart(2, "0");
    const off = -d.getTimezoneOffset();
    const zone = off === 0 ? "Z" : `${off > 0 ? "+" : "-"}${p(Math.trunc(off / 60))}:${p(off % 60)}`;
    return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${zone}`;
  }
  /* A number to 4 significant figures, for the screen; "n/a" for null. */
  function short(value) {
    if (value === null || value === undefined) return "n/a";
    if (typeof value !== "number" || !isFinite(value) || Number.isInteger(value) && Math.abs(value) < 1e6) return fmt(value);
    const a = Math.abs(value);
    return (a !== 0 && (a < 1e-3 || a >= 1e6)) ? value.toExponential(3) : String(+value.toPrecision(4));
  }
  /* The run a key names, counted from 1 as on every page ("0" -> 1). */
  function runNumber(key) {
    return /^\d+$/.test(String(key)) ? Number(key) + 1 : key;
  }
  const SYMBOLS = { "-": "", degC: "°C", deg: "°", degrees: "°" };
  /* ASCII units with their symbols (m3 -> m³, ug/L -> µg/L), as on the forms. */
  function units(text) {
    const t = String(text || "").trim();
    if (t in SYMBOLS) return SYMBOLS[t];
    return t.replace(/\bug\b/g, "µg").replace(/\bdegC\b/g, "°C")
      .replace(/\b(km|cm|mm|m|ft|in)([23])\b/g, (_, u, n) => u + (n === "2" ? "²" : "³"));
  }
  function seconds(from, to) {
    if (!from || !to) return null;
    return (new Date(to) - new Date(from)) / 1000;
  }

  document.addEventListener("DOMContentLoaded", () => {
    showKeyState();
    const form = document.getElementById("key-form");
    if (!form) return;
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const input = document.getElementById("api-key");
      setKey(input.value.trim());
      input.value = "";
      document.getElementById("key-panel").open = false;
      notice("");
      document.dispatchEvent(new CustomEvent("qed:key"));
    });
    document.getElementById("key-forget").addEventListener("click", () => {
      setKey("");
      notice("The key is forgotten.");
    });
  });

  return { api, ui, key, call, body, plain, notice, el, saveBlob, download, fmt, short, when, seconds, runNumber, units };
})();
