/* "Run this model again": a form opened as /ui/<app>/<model>?from=<job id> is filled with
   that job's own inputs (GET /jobs/<id>/inputs, with the API key like every call), and its
   label. A batch's rows go into the batch box as CSV. Also the job's label in a submission. */
"use strict";
window.QEDRun = {
  /* The body's fields about the job beside its inputs: its label, when one is given. */
  fields() {
    const input = document.getElementById("job-label");
    const label = input ? input.value.trim() : "";
    return label ? { label } : {};
  },
};

document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("run-form");
  const from = new URLSearchParams(window.location.search).get("from");
  if (!form || !from) return;
  const spec = JSON.parse(form.dataset.spec);
  const status = document.getElementById("prefill-status");
  const short = from.slice(0, 8);

  function say(text) {
    status.textContent = text;
    status.hidden = !text;
  }
  function text(value) {
    if (value === null || value === undefined) return "";
    return typeof value === "object" ? JSON.stringify(value) : String(value);
  }

  /* A list input's rows, made as many as the values with the form's own Add and Remove buttons
     (or the series box, where the form has one). */
  function setRows(field, values) {
    const hook = window.qedForm && window.qedForm.setSeriesValues;
    if (hook && hook(field.name, values) !== false) return;
    const list = form.querySelector(`ol[data-rows="${CSS.escape(field.name)}"]`);
    if (!list) return;
    const add = form.querySelector(`button.add[data-add="${CSS.escape(field.name)}"]`);
    const wanted = Math.max(1, values.length);
    while (list.querySelectorAll("li.row").length < wanted && add) add.click();
    let rows = list.querySelectorAll("li.row");
    while (rows.length > wanted) {
      rows[rows.length - 1].querySelector("button.remove").click();
      rows = list.querySelectorAll("li.row");
    }
    rows.forEach((row, i) => { row.querySelector("input").value = text(values[i]); });
  }

  function setField(field, value) {
    if (field.list || field.series) {
      setRows(field, value === undefined ? [] : (Array.isArray(value) ? value : [value]));
      return;
    }
    const control = form.querySelector(`[name="${CSS.escape(field.name)}"]:not([type=file])`);
    if (!control) return;
    if (field.kind === "checkbox") control.checked = value === true;
    else if (field.kind === "json") control.value = value === undefined ? "" : JSON.stringify(value, null, 2);
    else if (control.tagName === "SELECT") {
      const wanted = text(value);
      if (Array.from(control.options).some((o) => o.value === wanted)) control.value = wanted;
    } else control.value = text(value);
    control.dispatchEvent(new Event("change", { bubbles: true })); // units that follow it, checks
  }

  /* A batch's rows as CSV for the batch box: one column per input, lists as [a,b]. */
  function asCsv(rows) {
    const names = spec.fields.map((f) => f.name).filter((n) => rows.some((r) => r[n] !== undefined));
    const quote = (v) => {
      const t = text(v);
      return /[",\n\r]/.test(t) ? `"${t.replace(/"/g, "\"\"")}"` : t;
    };
    return [names.join(","), ...rows.map((r) => names.map((n) => quote(r[n])).join(","))].join("\n");
  }

  async function fill() {
    say(`Reading the inputs of job ${short}…`);
    const response = await QED.call(`/jobs/${encodeURIComponent(from)}/inputs`);
    const data = await QED.body(response);
    if (!response.ok) {
      say(`The inputs of job ${short} could not be read: ${QED.plain(response.status, data)} The form keeps its example.`);
      return;
    }
    if (data.app !== spec.app || data.model !== spec.model) {
      say(`Job ${short} ran ${data.app}/${data.model}, not this model; the form keeps its example.`);
      return;
    }
    const label = document.getElementById("job-label");
    if (label && data.label) label.value = data.label;
    const note = document.getElementById("prefill-note");
    if (Array.isArray(data.inputs)) {
      const box = document.getElementById("batch-text");
      if (box) box.value = asCsv(data.inputs);
      say(`Job ${short} was a batch of ${data.runs} runs: its rows are in the batch box below, ready to run again.`);
      if (box) box.scrollIntoView({ block: "center" });
      return;
    }
    for (const field of spec.fields) setField(field, data.inputs[field.name]);
    if (note) note.textContent = `Filled with the inputs of job ${short}${data.label ? ` (“${data.label}”)` : ""}. Fields marked required must be filled in.`;
    say(`The form holds the inputs of job ${short}. Change what you like and run it again.`);
  }
  document.addEventListener("qed:key", () => fill());
  fill();
});
