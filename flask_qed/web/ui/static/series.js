/* Series inputs (a list of numbers, e.g. a boundary inflow of a year hourly): a column
   pasted or loaded from a CSV file, one value a line, or two columns "time, value"; a
   header line is allowed; comma, semicolon, tab or spaces between columns. Each box
   shows its count, its first and last rows labelled by time step (or by its time
   column), a preview chart, and line-numbered problems ("line 12: 'abc' is not a number").
   window.qedForm.setSeriesValues(name, values) fills a box from another script;
   window.qedForm.readSeries(name) gives {values, problems} to the form's Run. */
"use strict";
const QEDSeries = (() => {
  const SHOWN_PROBLEMS = 10;

  function cellsOf(line) {
    if (/[,;\t]/.test(line)) return line.split(/\s*[,;\t]\s*/);
    const words = line.split(/\s+/);
    // "2021-01-01 01:00 5.2": a date and a time of day, then the value
    return words.length > 2 ? [words.slice(0, -1).join(" "), words[words.length - 1]] : words;
  }
  function numberOf(cell) {
    return cell !== "" && /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(cell) ? Number(cell) : null;
  }
  function rangeProblem(v, field) {
    if (field.type === "integer" && !Number.isInteger(v)) return `${v} is not a whole number`;
    if (field.minimum !== null && field.minimum !== undefined && v < field.minimum) return `${v} is below the minimum ${field.minimum}`;
    if (field.maximum !== null && field.maximum !== undefined && v > field.maximum) return `${v} is above the maximum ${field.maximum}`;
    if (field.exclusiveMinimum !== null && field.exclusiveMinimum !== undefined && !(v > field.exclusiveMinimum)) return `${v} must be greater than ${field.exclusiveMinimum}`;
    if (field.exclusiveMaximum !== null && field.exclusiveMaximum !== undefined && !(v < field.exclusiveMaximum)) return `${v} must be less than ${field.exclusiveMaximum}`;
    return "";
  }

  /* Text -> {values, times (or null), header, lines (line number of each value), problems}. */
  function parse(text, field) {
    const values = [], times = [], lines = [], problems = [];
    let header = null, columns = 0;
    String(text).split(/\r\n|\n|\r/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      const n = i + 1;
      const cells = cellsOf(line);
      if (cells.length > 2) { problems.push(`line ${n}: ${cells.length} columns; give one (value) or two (time, value)`); return; }
      const valueCell = cells[cells.length - 1];
      const v = numberOf(valueCell);
      if (v === null && !values.length && !problems.length && header === null) { header = cells; return; }
      if (columns && cells.length !== columns) { problems.push(`line ${n}: ${cells.length} column${cells.length > 1 ? "s" : ""} where the lines above have ${columns}`); return; }
      columns = cells.length;
      if (v === null) { problems.push(`line ${n}: '${valueCell}' is not a number`); return; }
      const wrong = rangeProblem(v, field);
      if (wrong) { problems.push(`line ${n}: ${wrong}`); return; }
      values.push(v);
      lines.push(n);
      if (cells.length === 2) times.push(cells[0]);
    });
    return { values, times: columns === 2 ? times : null, header, lines, problems };
  }
  /* The x of each row: the time column as instants or numbers when it reads as such,
     else the row's step number. */
  function axisOf(parsed, kind) {
    const t = parsed.times;
    const steps = parsed.values.map((_, i) => i + 1);
    if (!t) return { x: steps, numeric: true, label: kind === "time" ? "Time step" : "Row" };
    if (t.every((c) => numberOf(c) !== null)) return { x: t.map(Number), numeric: true, label: (parsed.header || [])[0] || "Time" };
    const instants = t.map((c) => { // a time with no zone is read as UTC, as the job page does
      const iso = c.replace(" ", "T");
      return Date.parse(/(Z|[+-]\d{2}:?\d{2})$/.test(iso) || !iso.includes("T") ? iso : `${iso}Z`);
    });
    if (instants.every((ms) => isFinite(ms))) return { x: instants, numeric: false, label: (parsed.header || [])[0] || "Time" };
    return { x: steps, numeric: true, label: "Row" };
  }
  function rowName(parsed, i, kind) {
    if (parsed.times) return parsed.times[i];
    return `${kind === "time" ? "step" : "value"} ${(i + 1).toLocaleString("en")}`;
  }
  function short(v) { return String(+v.toPrecision(6)); }

  /* The first three and last two rows (all of them up to 6), labelled by step or time. */
  function showRows(box, parsed) {
    const rows = box.querySelector(".series-rows");
    const n = parsed.values.length;
    const picks = n <= 6 ? parsed.values.map((_, i) => i) : [0, 1, 2, null, n - 2, n - 1];
    rows.replaceChildren(...picks.map((i) => {
      const tr = document.createElement("tr");
      const th = document.createElement("th");
      th.scope = "row";
      const td = document.createElement("td");
      if (i === null) { th.textContent = "…"; td.textContent = "…"; } else {
        th.textContent = rowName(parsed, i, box.dataset.kind);
        td.textContent = short(parsed.values[i]);
        td.className = "num";
      }
      tr.append(th, td);
      return tr;
    }));
    const table = rows.closest("table");
    const head = table.querySelector("thead th");
    head.dataset.plain = head.dataset.plain || head.textContent;
    head.textContent = parsed.times ? (parsed.header || [])[0] || "time" : head.dataset.plain;
    table.hidden = n < 2;
  }

  function attach(box, field) {
    const area = box.querySelector("textarea");
    const count = box.querySelector(".series-count");
    const preview = box.querySelector(".series-preview");
    const file = box.querySelector("input[type=file]");
    let timer = null, last = null;
    function update() {
      const parsed = parse(area.value, field);
      last = parsed;
      const n = parsed.values.length;
      const bad = parsed.problems.length;
      count.textContent = `${n.toLocaleString("en")} value${n === 1 ? "" : "s"}`
        + (parsed.header ? ` (header line: ${parsed.header.join(", ")})` : "")
        + (bad ? `; ${bad} line${bad === 1 ? "" : "s"} to fix: ${parsed.problems.slice(0, 3).join("; ")}${bad > 3 ? " …" : ""}` : "");
      count.classList.toggle("error", bad > 0);
      showRows(box, parsed);
      preview.replaceChildren();
      if (n >= (box.dataset.kind === "time" ? 2 : 10) && typeof QEDChart !== "undefined") {
        const axis = axisOf(parsed, box.dataset.kind);
        QEDChart.lines(preview, {
          title: `Preview of ${field.name}`, small: true, numericX: axis.numeric, x: axis.x, xLabel: axis.label,
          description: `${n} values of ${field.name} against ${axis.label.toLowerCase()}.`,
          yLabel: field.name, series: [{ name: field.name, values: parsed.values }],
        });
      }
    }
    const later = () => { clearTimeout(timer); timer = setTimeout(update, 250); };
    area.addEventListener("input", later);
    if (file) {
      file.addEventListener("change", async () => {
        if (!file.files || !file.files.length) return;
        area.value = await file.files[0].text();
        update();
        area.dispatchEvent(new Event("change", { bubbles: true }));
      });
    }
    update();
    return {
      read() { clearTimeout(timer); update(); return last; },
      set(values) {
        area.value = (values || []).map((v) => String(v)).join("\n");
        update();
      },
    };
  }

  const boxes = {};
  document.addEventListener("DOMContentLoaded", () => {
    const form = document.getElementById("run-form");
    if (!form) return;
    const spec = JSON.parse(form.dataset.spec);
    for (const field of spec.fields) {
      const box = form.querySelector(`.series[data-series="${CSS.escape(field.name)}"]`);
      if (box && field.series) boxes[field.name] = attach(box, field);
    }
  });

  window.qedForm = Object.assign(window.qedForm || {}, {
    /* Fill a series box with numbers (an array); false when the form has no such series. */
    setSeriesValues(name, values) {
      if (!boxes[name]) return false;
      boxes[name].set(values);
      return true;
    },
    /* {values, problems} of a series box, or null when the form has no such series. */
    readSeries(name) {
      if (!boxes[name]) return null;
      const parsed = boxes[name].read();
      const more = parsed.problems.length - SHOWN_PROBLEMS;
      return { values: parsed.values, problems: parsed.problems.slice(0, SHOWN_PROBLEMS).concat(more > 0 ? [`… and ${more} more lines`] : []) };
    },
  });
  return { parse, axisOf };
})();
