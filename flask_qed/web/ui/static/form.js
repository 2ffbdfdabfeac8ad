/* A model's form: repeatable rows, checks from the JSON Schema, submit to the native API,
   the API's 422 shown next to the field it names; CSV batches as one job. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("run-form");
  const spec = JSON.parse(form.dataset.spec);
  const byName = Object.fromEntries(spec.fields.map((f) => [f.name, f]));
  const summary = document.getElementById("error-summary");
  const runStatus = document.getElementById("run-status");

  // -- repeatable rows of list inputs ---------------------------------------------
  function renumber(list) {
    const name = list.dataset.rows;
    list.querySelectorAll("li.row").forEach((row, i) => {
      const id = `in-${name}-${i + 1}`;
      row.querySelector("label").setAttribute("for", id);
      row.querySelector("label").textContent = `Value ${i + 1}`;
      row.querySelector("input").id = id;
      row.querySelector("button.remove").setAttribute("aria-label", `Remove value ${i + 1} of ${name}`);
    });
  }
  form.addEventListener("click", (event) => {
    const add = event.target.closest("button.add");
    const remove = event.target.closest("button.remove");
    if (add) {
      const list = form.querySelector(`ol[data-rows="${add.dataset.add}"]`);
      const rows = list.querySelectorAll("li.row");
      const row = rows[rows.length - 1].cloneNode(true);
      row.querySelector("input").value = "";
      list.append(row);
      renumber(list);
      row.querySelector("input").focus();
    } else if (remove) {
      const row = remove.closest("li.row");
      const list = row.parentElement;
      if (list.querySelectorAll("li.row").length > 1) {
        const next = row.nextElementSibling || row.previousElementSibling;
        row.remove();
        renumber(list);
        next.querySelector("input").focus();
      } else {
        row.querySelector("input").value = "";
        row.querySelector("input").focus();
      }
    }
  });

  // -- units that follow another input (e.g. the rate's units follow the application type) --
  for (const span of form.querySelectorAll("[data-units-by]")) {
    const rule = JSON.parse(span.dataset.unitsBy);
    const source = form.querySelector(`[name="${CSS.escape(rule.field)}"]`);
    if (!source) continue;
    const follow = () => {
      const units = rule.units[source.value];
      if (units) span.textContent = `(${units})`;
    };
    source.addEventListener("change", follow);
    follow();
  }

  // -- checks from the schema --------------------------------------------------------
  function isNumber(text) { return text !== "" && isFinite(Number(text)); }
  function check(control) {
    if (control.type === "file") return "";
    control.setCustomValidity("");
    const v = control.value.trim();
    if (v !== "" && control.type === "number") {
      const n = Number(v);
      if (control.dataset.gt !== undefined && !(n > Number(control.dataset.gt))) {
        control.setCustomValidity(`Must be greater than ${control.dataset.gt}.`);
      } else if (control.dataset.lt !== undefined && !(n < Number(control.dataset.lt))) {
        control.setCustomValidity(`Must be less than ${control.dataset.lt}.`);
      }
    }
    if (v !== "" && control.dataset.words) {
      const words = control.dataset.words.split("|");
      if (!words.includes(v) && !isNumber(v)) control.setCustomValidity(`Enter a number or ${words.join(" or ")}.`);
    }
    if (v !== "" && control.tagName === "TEXTAREA" && !control.dataset.series) {
      try { JSON.parse(v); } catch (e) { control.setCustomValidity(`This is not valid JSON (${e.message}).`); }
    }
    return control.checkValidity() ? "" : control.validationMessage;
  }
  form.addEventListener("change", (event) => {
    const fieldBox = event.target.closest(".field");
    if (fieldBox && event.target.matches("input, select, textarea")) {
      const message = check(event.target);
      if (!message) setFieldError(fieldBox.dataset.field, "");
    }
  });

  function controls(name) {
    return Array.from(form.querySelectorAll(`[name="${CSS.escape(name)}"]`)).filter((c) => c.type !== "file");
  }
  function typed(field, text) {
    if (field.words && field.words.includes(text)) return text;
    if (field.kind === "number" || (field.words && field.words.length)) return Number(text);
    if ((field.type === "number" || field.type === "integer") && isNumber(text)) return Number(text);
    return text;
  }

  /* The form's values as the API's inputs, and the problems found before sending. */
  function collect() {
    const inputs = {};
    const problems = [];
    for (const field of spec.fields) {
      const list = controls(field.name);
      if (!list.length) continue;
      const series = field.series && window.qedForm ? window.qedForm.readSeries(field.name) : null; // series.js
      if (series) {
        if (series.problems.length) problems.push({ field: field.name, message: series.problems.join("; "), control: list[0] });
        else if (series.values.length) inputs[field.name] = field.scalar_ok && series.values.length === 1 ? series.values[0] : series.values;
        else if (field.required) problems.push({ field: field.name, message: "Enter at least one value.", control: list[0] });
        continue;
      }
      if (field.list) {
        const values = [];
        for (const c of list) {
          const message = check(c);
          if (message) problems.push({ field: field.name, message: `${c.labels[0].textContent}: ${message}`, control: c });
          else if (c.value.trim() !== "") values.push(typed(field, c.value.trim()));
        }
        if (!values.length) {
          if (field.required) problems.push({ field: field.name, message: "Enter at least one value.", control: list[0] });
          continue;
        }
        inputs[field.name] = field.scalar_ok && values.length === 1 ? values[0] : values;
        continue;
      }
      const c = list[0];
      const message = check(c);
      if (message) { problems.push({ field: field.name, message, control: c }); continue; }
      if (field.kind === "checkbox") { inputs[field.name] = c.checked; continue; }
      const v = c.value.trim();
      if (v === "") continue; // not given: the model's default applies
      if (field.kind === "json") inputs[field.name] = JSON.parse(v);
      else inputs[field.name] = typed(field, v);
    }
    return { inputs, problems };
  }

  // -- errors next to their fields -----------------------------------------------------
  function setFieldError(name, message) {
    const slot = document.getElementById(`err-${name}`);
    if (!slot) return false;
    slot.textContent = message;
    const box = document.getElementById(`field-${name}`);
    if (box) {
      box.classList.toggle("invalid", !!message);
      box.querySelectorAll("input, select, textarea").forEach((c) => {
        if (message) c.setAttribute("aria-invalid", "true"); else c.removeAttribute("aria-invalid");
      });
    }
    return true;
  }
  function clearErrors() {
    for (const slot of form.querySelectorAll("p.error")) slot.textContent = "";
    for (const box of form.querySelectorAll(".field.invalid")) setFieldError(box.dataset.field, "");
    summary.hidden = true;
    summary.querySelector("ul").replaceChildren();
  }
  /* Which inputs an error is about: the field it names, else the inputs its rule names
     (a rule across fields, e.g. "dw + dsed must be positive"), else the form as a whole. */
  function fieldsOf(error) {
    const head = String(error.field || "").split(".")[0];
    if (byName[head]) return [head];
    const found = spec.fields.map((f) => f.name).filter((n) =>
      new RegExp(`(^|[^A-Za-z0-9_])${n.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}($|[^A-Za-z0-9_])`).test(error.rule || error.message));
    return found.length ? found : ["inputs"];
  }
  function showErrors(errors) {
    const items = summary.querySelector("ul");
    const byField = {};
    for (const error of errors) {
      for (const name of fieldsOf(error)) (byField[name] = byField[name] || []).push(error.message);
    }
    for (const [name, messages] of Object.entries(byField)) {
      setFieldError(name, messages.join(" "));
      const target = name === "inputs" ? "err-inputs" : (controls(name)[0] || {}).id;
      const link = QED.el("a", { href: `#${target || "run-form"}`, text: `${name === "inputs" ? "Inputs" : name}: ${messages.join(" ")}` });
      link.addEventListener("click", (event) => {
        const control = document.getElementById(target);
        if (control) { event.preventDefault(); control.focus(); }
      });
      items.append(QED.el("li", {}, link));
    }
    summary.hidden = false;
    summary.focus();
  }
  function serverErrors(data) {
    const errors = data && data.errors ? data.errors : [{ field: "inputs", rule: (data && data.message) || "invalid inputs" }];
    return errors.map((e) => {
      const rule = String(e.rule || "").replace(/^Value error, /, "");
      const head = String(e.field || "").split(".")[0];
      const shown = byName[head] && e.value !== null && e.value !== undefined && typeof e.value !== "object";
      return { field: e.field, run: e.run, rule, message: `${rule}${shown ? ` (you gave ${JSON.stringify(e.value)})` : ""}.`.replace(/\.\.$/, ".") };
    });
  }

  // -- submit ----------------------------------------------------------------------------
  /* What the body says about the job beside its inputs (its label: prefill.js). */
  function jobFields() { return window.QEDRun ? window.QEDRun.fields() : {}; }
  function remember(jobId, inputs) {
    try {
      const text = JSON.stringify(inputs);
      if (text.length < 2000000) sessionStorage.setItem(`qed.inputs.${jobId}`, text);
    } catch (e) { /* the job page then shows what it can without the inputs */ }
  }
  async function submit(inputs, button, status, onErrors) {
    button.disabled = true;
    status.textContent = "Sending…";
    try {
      const upload = spec.upload_field ? document.getElementById(`file-${spec.upload_field}`) : null;
      let response;
      if (upload && upload.files && upload.files.length && !Array.isArray(inputs)) {
        const data = new FormData();
        for (const [k, v] of Object.entries(inputs)) {
          if (k !== spec.upload_field) data.append(k, typeof v === "object" ? JSON.stringify(v) : String(v));
        }
        for (const [k, v] of Object.entries(jobFields())) data.append(k, v);
        data.append(spec.upload_field, upload.files[0]);
        response = await QED.call(spec.url, { method: "POST", body: data, headers: { Accept: "application/json" } });
      } else {
        response = await QED.call(spec.url, {
          method: "POST", body: JSON.stringify(Object.assign({ inputs }, jobFields())),
          headers: { "Content-Type": "application/json", Accept: "application/json" },
        });
      }
      const data = await QED.body(response);
      if (response.status === 202 && data && data.job_id) {
        if (!Array.isArray(inputs)) {
          const kept = Object.assign({}, inputs);
          if (upload && upload.files && upload.files.length) { // the file was sent, not the text
            delete kept[spec.upload_field];
            const file = upload.files[0];
            if (/\.(geo)?json$/i.test(file.name)) {
              try { kept[spec.upload_field] = JSON.parse(await file.text()); } catch (e) { /* drawn without it */ }
            }
          }
          remember(data.job_id, kept);
        }
        status.textContent = "Submitted; opening the job…";
        window.location.assign(`${QED.ui}/jobs/${encodeURIComponent(data.job_id)}`);
        return;
      }
      status.textContent = "";
      if (response.status === 422) onErrors(serverErrors(data));
      else status.textContent = QED.plain(response.status, data);
    } catch (e) {
      status.textContent = `The request failed: ${e.message}`;
    } finally {
      button.disabled = false;
    }
  }
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    clearErrors();
    const { inputs, problems } = collect();
    if (problems.length) { showErrors(problems); return; }
    submit(inputs, form.querySelector("button[type=submit]"), runStatus, showErrors);
  });

  // -- batches -------------------------------------------------------------------------
  const batch = document.getElementById("batch-form");
  if (!batch) return;
  const batchStatus = document.getElementById("batch-status");
  const batchErrors = document.getElementById("batch-errors");
  function showBatchErrors(errors) {
    const list = batchErrors.querySelector("ul");
    list.replaceChildren(...errors.slice(0, 50).map((e) => QED.el("li", {
      text: (e.run !== null && e.run !== undefined && e.run !== "" ? `Run ${QED.runNumber(e.run)}: ` : "")
        + (e.field && e.field !== "inputs" ? `${e.field}: ` : "") + e.message,
    })));
    if (errors.length > 50) list.append(QED.el("li", { text: `… and ${errors.length - 50} more.` }));
    batchErrors.hidden = false;
    batchErrors.focus();
  }
  batch.addEventListener("submit", async (event) => {
    event.preventDefault();
    batchErrors.hidden = true;
    const file = document.getElementById("batch-file").files[0];
    const text = file ? await file.text() : document.getElementById("batch-text").value;
    const table = parseCsv(text).filter((r) => r.some((cell) => cell.trim() !== ""));
    if (table.length < 2) {
      showBatchErrors([{ message: "Give a header line of input names and at least one row." }]);
      return;
    }
    const header = table[0].map((h) => h.trim());
    const unknown = header.filter((h) => h && h !== "run" && !byName[h]);
    const rows = table.slice(1).map((cells) => {
      const row = {};
      header.forEach((name, j) => {
        const cell = (cells[j] || "").trim();
        const field = byName[name];
        if (!field || cell === "") return;
        if (field.list) {
          try { row[name] = JSON.parse(cell.startsWith("[") ? cell : `[${cell}]`); } catch (e) { row[name] = cell; }
        } else if (field.kind === "checkbox") row[name] = /^(true|1|yes)$/i.test(cell);
        else row[name] = field.kind === "number" && !isNumber(cell) ? cell : typed(field, cell);
      });
      return row;
    });
    if (rows.length > spec.max_rows) {
      showBatchErrors([{ message: `${rows.length} rows; at most ${spec.max_rows} runs per job.` }]);
      return;
    }
    batchStatus.textContent = `${rows.length} runs read${unknown.length ? `; columns not used: ${unknown.join(", ")}` : ""}.`;
    submit(rows, batch.querySelector("button[type=submit]"), batchStatus, showBatchErrors);
  });
});

/* RFC 4180 CSV: quoted fields, doubled quotes, CRLF or LF. */
function parseCsv(text) {
  const rows = [];
  let row = [], cell = "", quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i];
    if (quoted) {
      if (ch === "\"") {
        if (text[i + 1] === "\"") { cell += "\""; i += 1; } else quoted = false;
      } else cell += ch;
    } else if (ch === "\"") quoted = true;
    else if (ch === ",") { row.push(cell); cell = ""; }
    else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i += 1;
      row.push(cell); rows.push(row); row = []; cell = "";
    } else cell += ch;
  }
  if (cell !== "" || row.length) { row.push(cell); rows.push(row); }
  return rows;
}
