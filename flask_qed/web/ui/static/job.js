/* A job's page: status and progress from /jobs/<id>/status, Cancel, then its results:
   tables (paged), CSV and JSON downloads, a hydrograph for routing results and a map
   for percent-area results. What is drawn depends on the shape of the data, not on
   the model's name, so another app's results of the same shape get the same views. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const $ = (id) => document.getElementById(id);
  const jobId = $("job-id").dataset.job;
  const path = `/jobs/${encodeURIComponent(jobId)}`;
  const WORDS = { PENDING: "Queued", STARTED: "Running", SUCCESS: "Finished", FAILURE: "Failed", REVOKED: "Cancelled" };
  const TERMINAL = new Set(["SUCCESS", "FAILURE", "REVOKED"]);
  const HIDDEN = new Set(["csrfmiddlewaretoken"]); // form-only fields, never results
  let timer = null, finished = false, polling = false;

  function plainFailure(error) {
    const text = String(error || "");
    if (/TimeLimitExceeded|time limit/i.test(text)) return "The job ran longer than its time limit and was stopped. Try fewer runs or a shorter period.";
    if (/queue was unavailable/i.test(text)) return "The job could not be queued because the job queue was down. Submit it again.";
    const m = text.match(/^([A-Za-z]+(?:Error|Exception)): (.*)$/s);
    return `The model could not finish: ${m ? m[2] : text}`;
  }
  function duration(s) {
    if (s === null || s === undefined) return "";
    return s < 60 ? `${s.toFixed(s < 10 ? 2 : 1)} s` : `${Math.floor(s / 60)} min ${Math.round(s % 60)} s`;
  }
  function render(job) {
    $("job-model").textContent = job.app && job.model ? `${job.app}/${job.model}` : "";
    $("job-label").textContent = job.label || "";
    $("job-label").hidden = !job.label;
    $("job-status").textContent = `${WORDS[job.status] || job.status} (${job.status})`;
    const progress = job.status === "SUCCESS" ? 100 : Math.max(0, Math.min(100, Math.round(job.progress || 0)));
    $("job-progress").value = progress;
    $("job-progress").textContent = `${progress} %`;
    $("job-progress-text").textContent = `${progress} %`;
    const times = [["Submitted", QED.when(job.created)], ["Started", QED.when(job.started)],
      ["Finished", QED.when(job.finished)],
      ["Waited in the queue", duration(QED.seconds(job.created, job.started))],
      ["Ran for", duration(QED.seconds(job.started, job.finished))]];
    $("job-times").replaceChildren(...times.filter(([, v]) => v).flatMap(([k, v]) => [QED.el("dt", { text: k }), QED.el("dd", { text: v })]));
    $("job-cancel").hidden = TERMINAL.has(job.status);
    const error = $("job-error");
    if (job.status === "FAILURE") { error.textContent = plainFailure(job.error); error.hidden = false; }
    else if (job.status === "REVOKED") { error.textContent = "This job was cancelled; it has no results."; error.hidden = false; }
    else error.hidden = true;
    if (job.app && job.model) {
      const again = $("job-again");
      again.href = `${QED.ui}/${encodeURIComponent(job.app)}/${encodeURIComponent(job.model)}?from=${encodeURIComponent(job.job_id)}`;
      again.hidden = !TERMINAL.has(job.status);
    }
  }
  async function poll() {
    if (polling) return;
    polling = true;
    clearTimeout(timer);
    try {
      const response = await QED.call(`${path}/status`);
      const job = await QED.body(response);
      if (!response.ok) {
        $("job-status").textContent = "unknown";
        const error = $("job-error");
        error.textContent = QED.plain(response.status, job);
        error.hidden = false;
        if (response.status >= 500 || response.status === 429) timer = setTimeout(poll, 2000);
        return; // a 401 waits for the key (the qed:key event)
      }
      render(job);
      if (TERMINAL.has(job.status)) {
        finished = true;
        if (job.status === "SUCCESS") await results(job);
      } else {
        timer = setTimeout(poll, 400);
      }
    } catch (e) {
      timer = setTimeout(poll, 2000);
    } finally {
      polling = false;
    }
  }
  document.addEventListener("qed:key", () => { if (!finished) poll(); });

  $("job-cancel").addEventListener("click", async () => {
    const button = $("job-cancel");
    button.disabled = true;
    const response = await QED.call(path, { method: "DELETE" });
    const job = await QED.body(response);
    button.disabled = false;
    if (response.ok) { render(job); finished = true; clearTimeout(timer); $("job-status").focus(); }
    else if (response.status === 409) { QED.notice("The job had already finished."); poll(); }
    else QED.notice(QED.plain(response.status, job));
  });
  $("job-status").setAttribute("tabindex", "-1");

  // -- results ------------------------------------------------------------------------------
  async function results(job) {
    const [described, fetched] = await Promise.all([
      QED.call(`/${encodeURIComponent(job.app)}/${encodeURIComponent(job.model)}`, { headers: { Accept: "application/json" } }),
      QED.call(`${path}/results`, { headers: { Accept: "application/json" } }),
    ]);
    const model = described.ok ? await QED.body(described) : null;
    const data = await QED.body(fetched);
    if (!fetched.ok || data === null) { QED.notice(QED.plain(fetched.status, data)); return; }
    const section = $("results");
    section.hidden = false;
    const base = `${job.app}-${job.model}-${jobId}`;
    link($("dl-json"), `${path}/results`, `${base}.json`, "application/json");
    if (isTabular(data)) {
      runsTable(data, model);
    } else if (Array.isArray(data.flow) && Array.isArray(data.dates)) {
      routingView(data, model);
    } else if (Array.isArray(data.columns) && Array.isArray(data.data)) {
      splitView(data, model);
    } else if (data.geometry && data.metadata && data.metadata["cell size (degrees)"]) {
      cellsView(data, job);
    } else {
      $("tables").append(QED.el("pre", { className: "json", text: JSON.stringify(data, null, 1) }));
    }
    // The CSV is the API's (GET /jobs/<id>/results as text/csv): offered where the results have a
    // table form (runs always have one; other results are asked, the answer's body unread).
    const csv = isTabular(data) || (await QED.call(`${path}/results?f=csv`, { method: "HEAD", headers: { Accept: "text/csv" } })).ok;
    if (csv) link($("dl-csv"), `${path}/results?f=csv`, `${base}.csv`, "text/csv");
    else $("dl-csv").hidden = true;
    // A batch that skipped invalid runs (on_invalid: skip): their errors, one line each, beside it
    const skipped = isTabular(data) && data.errors && Object.keys(data.errors).length > 0;
    if (skipped) link($("dl-skipped"), `${path}/skipped?f=csv`, `${base}-skipped.csv`, "text/csv");
    $("dl-skipped").hidden = !skipped;
  }
  function link(anchor, apiPath, filename, accept) {
    anchor.href = QED.api + apiPath;
    anchor.setAttribute("download", filename);
    anchor.addEventListener("click", (event) => {
      event.preventDefault(); // fetched with the key header, never with the key in the URL
      QED.download(apiPath, filename, accept);
    });
  }
  function isTabular(data) {
    return data && typeof data.outputs === "object" && data.outputs !== null && !Array.isArray(data.outputs)
      && Object.values(data.outputs).every((c) => c && typeof c === "object" && !Array.isArray(c));
  }
  function unitsOf(model, section, name) {
    if (!model) return { units: "", description: "" };
    if (section === "outputs") return model.outputs[name] || { units: "", description: "" };
    const prop = (model.inputs.properties || {})[name] || {};
    return { units: prop.units || "", description: prop.description || "" };
  }
  function unitsShown(units) {
    return QED.units(units);
  }

  /* PRAM-style results: one run -> inputs and outputs listed; many runs -> one row per run. */
  function runsTable(data, model) {
    const runs = Object.keys(Object.values(data.outputs)[0] || Object.values(data.inputs || {})[0] || {});
    const columns = [];
    // outputs first; inputs no run gave (unused descriptive fields) are left out
    for (const section of ["outputs", "inputs"]) {
      for (const name of Object.keys(data[section] || {})) {
        const values = Object.values(data[section][name]);
        if (section === "inputs" && (HIDDEN.has(name) || values.every((v) => v === null || v === ""))) continue;
        columns.push({ section, name, ...unitsOf(model, section, name) });
      }
    }
    const box = $("tables");
    // risk at a glance: the RQs at or above a level of concern, first; their cells marked
    const flags = data.exceeds ? QEDRisk.index(data) : null;
    const marking = (e) => e && ((td) => QEDRisk.mark(td, model, e)); // a cell's marker, or nothing
    if (flags) box.append(QEDRisk.summary(data, model, runs));
    const glossary = flags ? QEDRisk.glossary(model, Object.keys(data.outputs)) : null;
    if (runs.length === 1) {
      for (const section of ["outputs", "inputs"]) {
        const shown = columns.filter((c) => c.section === section);
        const rows = shown.map((c) => [c.name, data[section][c.name][runs[0]], QED.units(c.units), c.description]);
        const marks = flags && section === "outputs" ? (i, j) => j === 1 && marking((flags[runs[0]] || {})[shown[i].name]) : null;
        box.append(QED.el("h3", { text: section === "outputs" ? "Outputs" : "Inputs" }));
        box.append(pagedTable({
          id: `table-${section}`, caption: `${section === "outputs" ? "Outputs" : "Inputs"} of the run`,
          columns: [{ name: "name" }, { name: "value" }, { name: "units" }, { name: "description" }], rows, rowHeader: 0, pageSize: 500, marks,
        }));
      }
      if (glossary) box.append(glossary);
      return;
    }
    const rows = runs.map((run) => [QED.runNumber(run), ...columns.map((c) => data[c.section][c.name][run])]);
    const marks = flags ? (i, j) => j > 0 && columns[j - 1].section === "outputs" && marking((flags[runs[i]] || {})[columns[j - 1].name]) : null;
    box.append(QED.el("p", { text: `${runs.length} runs, one row each, numbered from 1; outputs first, then inputs.` }));
    box.append(pagedTable({
      id: "table-runs", caption: "Runs", columns: [{ name: "run" }, ...columns], rows, rowHeader: 0, pageSize: 25, marks,
    }));
    if (glossary) box.append(glossary);
  }

  /* Routing: flow[time][segment], dates, boundary_flow. */
  function routingView(data, model) {
    const segments = data.segments || data.flow[0].map((_, j) => String(j + 1));
    const x = data.dates.map(instant);
    const units = (data.metadata && data.metadata.units) || {};
    const series = [{ name: "Inflow at the upstream boundary", values: data.boundary_flow }];
    segments.forEach((s, j) => series.push({ name: `Outflow of segment ${s}`, values: data.flow.map((row) => row[j]) }));
    const flowUnits = QED.units(units.flow || "m3/s");
    QEDChart.lines($("chart"), {
      title: "Hydrograph", description: `Inflow at the upstream boundary and the outflow of each of ${segments.length} segments over time, in ${flowUnits}.`,
      x, yLabel: `Flow (${flowUnits})`, series,
    });
    const columns = [{ name: "time", units: "ISO 8601" }, { name: "boundary_flow", units: units.boundary_flow || "m3/s" },
      ...segments.map((s) => ({ name: `flow segment ${s}`, units: units.flow || "m3/s" })),
      ...segments.map((s) => ({ name: `depth segment ${s}`, units: units.depth || "m" })),
      ...segments.map((s) => ({ name: `volume segment ${s}`, units: units.volume || "m3" }))];
    const rows = data.dates.map((d, i) => [d, data.boundary_flow[i], ...data.flow[i], ...(data.depth || [])[i] || [], ...(data.volume || [])[i] || []]);
    const table = { columns, rows };
    $("tables").append(pagedTable({ id: "table-routing", caption: "Flow, depth and volume of each segment at each time", ...table, rowHeader: 0, pageSize: 25 }));
    metadataList(data.metadata);
    return table;
  }
  /* The original constant-volume layout: columns DateTime, 0..N-1; data rows. */
  function splitView(data) {
    const units = ((data.metadata || {}).units || {}).flow || "m3/s";
    const shown = QED.units(units);
    const names = data.columns.slice(1).map(String);
    QEDChart.lines($("chart"), {
      title: "Hydrograph", description: `Flow of each of ${names.length} segments over time, in ${shown}. With a constant volume, each segment's inflow is the boundary flow and its outflow equals its inflow.`,
      x: data.data.map((row) => instant(String(row[0]).replace(" ", "T"))), yLabel: `Flow (${shown})`,
      series: names.map((n, j) => ({ name: `Inflow and outflow of segment ${n}`, values: data.data.map((row) => row[j + 1]) })),
    });
    const table = { columns: [{ name: "DateTime" }, ...names.map((n) => ({ name: `segment ${n}`, units }))], rows: data.data };
    $("tables").append(pagedTable({ id: "table-routing", caption: "Flow of each segment at each time", ...table, rowHeader: 0, pageSize: 25 }));
    metadataList(data.metadata);
    return table;
  }
  /* Percent area: per feature, the grid cells with their centres, areas and percentages. */
  function cellsView(data, job) {
    const meta = data.metadata;
    const u = meta.units || {};
    const keys = ["latitude", "longitude", "cellArea", "containedArea", "percentArea", "percentCatchment"];
    const rows = [];
    const cells = [];
    for (const [feature, value] of Object.entries(data.geometry)) {
      for (const p of value.points || []) {
        rows.push([feature, ...keys.map((k) => p[k])]);
        cells.push({ lon: p.longitude, lat: p.latitude, value: p.percentArea, feature });
      }
    }
    let outline = [];
    try {
      const inputs = JSON.parse(sessionStorage.getItem(`qed.inputs.${jobId}`) || "null");
      if (inputs && inputs.geometry) outline = QEDChart.rings(inputs.geometry);
    } catch (e) { outline = []; }
    QEDChart.map($("chart"), {
      title: "Map of the catchment and grid cells",
      description: `${cells.length} ${meta.grid || ""} grid cells, coloured by the percent of each cell inside the catchment${outline.length ? ", with the catchment outline" : ""}.`,
      cells, size: meta["cell size (degrees)"], outline,
    });
    if (!outline.length) $("chart").append(QED.el("p", { className: "muted", text: "The catchment outline is drawn for jobs whose GeoJSON was entered or uploaded in this browser tab." }));
    const table = { columns: [{ name: "feature" }, ...keys.map((k) => ({ name: k, units: u[k] || "" }))], rows };
    $("tables").append(pagedTable({ id: "table-cells", caption: "Grid cells of each catchment", ...table, rowHeader: 0, pageSize: 25 }));
    metadataList(meta);
    return table;
  }
  /* A time as given by the model; one with no zone is read as UTC, so the axis shows it as written. */
  function instant(text) {
    return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(text) ? text : `${text}Z`);
  }
  function metadataList(meta) {
    if (!meta) return;
    const details = QED.el("details", { className: "meta" }, QED.el("summary", { text: "Run details (metadata)" }));
    const dl = QED.el("dl");
    for (const [k, v] of Object.entries(meta)) dl.append(QED.el("dt", { text: k }), QED.el("dd", { text: QED.fmt(v) }));
    details.append(dl);
    $("tables").append(details);
  }

  /* A table shown one page at a time. */
  function pagedTable({ id, caption, columns, rows, rowHeader, pageSize, marks }) {
    const wrap = QED.el("div", { className: "table-block" });
    const scroller = QED.el("div", { className: "table-wrap", tabindex: "0", role: "region", "aria-label": caption });
    const table = QED.el("table", { id, className: "data" }, QED.el("caption", { text: caption }));
    const head = QED.el("tr");
    for (const c of columns) {
      const th = QED.el("th", { scope: "col", title: c.description || null }, c.name);
      if (QED.units(c.units)) th.append(QED.el("br"), QED.el("span", { className: "units", text: QED.units(c.units) }));
      head.append(th);
    }
    table.append(QED.el("thead", {}, head));
    const body = QED.el("tbody");
    table.append(body);
    scroller.append(table);
    wrap.append(scroller);
    const pages = Math.max(1, Math.ceil(rows.length / pageSize));
    let page = 0;
    const status = QED.el("span", { className: "pager-status", "aria-live": "polite" });
    const prev = QED.el("button", { type: "button", text: "Previous page" });
    const next = QED.el("button", { type: "button", text: "Next page" });
    function show() {
      const start = page * pageSize;
      body.replaceChildren(...rows.slice(start, start + pageSize).map((row, i) => QED.el("tr", {}, ...row.map((v, j) => {
        if (j === rowHeader) return QED.el("th", { scope: "row", text: QED.fmt(v) });
        const marker = marks && marks(start + i, j); // marks: (row, column) -> a cell's marker, or nothing
        return marker ? marker(cell(v)) : cell(v);
      }))));
      status.textContent = `Rows ${rows.length ? start + 1 : 0}–${Math.min(rows.length, start + pageSize)} of ${rows.length} (page ${page + 1} of ${pages})`;
      prev.disabled = page === 0;
      next.disabled = page >= pages - 1;
    }
    prev.addEventListener("click", () => { page -= 1; show(); });
    next.addEventListener("click", () => { page += 1; show(); });
    if (pages > 1) wrap.append(QED.el("div", { className: "pager" }, prev, status, next));
    show();
    return wrap;
  }
  /* A value on screen: numbers to 4 significant figures (the full value in its title and
     data-value; downloads keep full precision), "n/a" for null. */
  function cell(v) {
    const shown = QED.short(v);
    const full = typeof v === "number" ? String(v) : null;
    return QED.el("td", { text: shown, className: typeof v === "number" ? "num" : v === null || v === undefined ? "na" : null,
      title: full !== null && full !== shown ? full : null, "data-value": full });
  }
  poll();
});
