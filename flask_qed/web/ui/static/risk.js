/* Risk at a glance on a job's page: the results' exceedances (data.exceeds: for each run,
   the risk quotients at or above a level of concern) summed up in words, the cells that
   hold them marked (a class, a visible sign and words for screen readers: never colour
   alone), and the abbreviations of the output names explained (the model's glossary). */
"use strict";
window.QEDRisk = (() => {
  /* A number for a sentence: 3 significant figures ("7.96", "0.123", "1.23e-5"). */
  function num(v) {
    if (typeof v !== "number" || !isFinite(v)) return v === null || v === undefined ? "∞" : String(v);
    const a = Math.abs(v);
    return a !== 0 && (a < 1e-3 || a >= 1e6) ? v.toExponential(2) : String(+v.toPrecision(3));
  }
  function times(ratio) {
    if (typeof ratio !== "number" || !isFinite(ratio)) return "far above";
    return `${ratio >= 100 ? Math.round(ratio) : ratio.toFixed(1)}×`;
  }
  /* A level as EPA writes it: "1.0", "0.5", "0.1". */
  function level(v) {
    return typeof v === "number" && Number.isInteger(v) ? v.toFixed(1) : String(v);
  }
  function locOf(model, e) {
    const locs = (model && model.risk && model.risk.levels_of_concern) || {};
    return locs[e.loc] || { label: e.loc, level: e.level };
  }
  function labelOf(model, output) {
    const spec = model && model.outputs && model.outputs[output];
    return (spec && spec.description) || output;
  }
  /* "Chronic dose RQ, small mammal, sg: 7.96 — 8.0× the chronic LOC 1.0" */
  function sentence(model, e) {
    const loc = locOf(model, e);
    return `${labelOf(model, e.output)}: ${num(e.value)} — ${times(e.ratio)} the ${loc.label} LOC ${level(e.level)}`;
  }
  /* What a marked cell says to a screen reader (and in its tooltip). */
  function cellNote(model, e) {
    const loc = locOf(model, e);
    return `at or above the ${loc.label} level of concern ${level(e.level)} (${times(e.ratio)})`;
  }
  /* run key -> output -> its exceedance, for marking cells. */
  function index(data) {
    const found = {};
    for (const [run, list] of Object.entries((data && data.exceeds) || {})) {
      if (!Array.isArray(list)) continue;
      for (const e of list) (found[run] = found[run] || {})[e.output] = e;
    }
    return found;
  }
  /* The summary: each RQ over its LOC (one run), or each RQ over its LOC in some runs
     with how many and its highest (a batch). */
  function summary(data, model, runs) {
    const box = QED.el("section", { id: "risk-summary", className: "risk-summary", "aria-labelledby": "risk-h" },
      QED.el("h3", { id: "risk-h", text: "Risk at a glance" }));
    const rank = (e) => (typeof e.ratio === "number" ? e.ratio : Infinity); // the most over its LOC first
    const all = runs.flatMap((run) => ((data.exceeds || {})[run] || []).map((e) => ({ run, e })))
      .sort((a, b) => (rank(a.e) === rank(b.e) ? 0 : rank(b.e) > rank(a.e) ? 1 : -1));
    if (!all.length) {
      box.append(QED.el("p", { text: "No risk quotient reaches its level of concern." }));
      return box;
    }
    const list = QED.el("ul", { className: "risk-list" });
    if (runs.length === 1) {
      box.append(QED.el("p", { text: `${all.length} risk quotient${all.length === 1 ? "" : "s"} at or above ${all.length === 1 ? "its" : "their"} level of concern:` }));
      for (const { e } of all) list.append(QED.el("li", { text: sentence(model, e) }));
    } else {
      const by = new Map();
      for (const item of all) {
        const seen = by.get(item.e.output);
        if (!seen) by.set(item.e.output, { count: 1, top: item });
        else seen.count += 1; // sorted: the first seen is the highest
      }
      box.append(QED.el("p", { text: `${by.size} risk quotient${by.size === 1 ? "" : "s"} at or above a level of concern in some of the ${runs.length} runs:` }));
      for (const { count, top } of by.values()) {
        list.append(QED.el("li", { text: `${sentence(model, top.e)} (highest, run ${QED.runNumber(top.run)}); in ${count} of ${runs.length} runs` }));
      }
    }
    box.append(list);
    return box;
  }
  /* The abbreviations used in the output names, explained: a <dl> of the model's glossary. */
  function glossary(model, names) {
    const terms = (model && model.risk && model.risk.glossary) || {};
    const used = new Set(["rq", "loc", ...names.flatMap((n) => String(n).toLowerCase().split("_"))]); // the summary says RQ and LOC
    const shown = Object.keys(terms).filter((t) => used.has(t.toLowerCase()) || t.includes("_") && names.some((n) => n.includes(t)));
    if (!shown.length) return null;
    const dl = QED.el("dl", { className: "glossary" });
    for (const t of shown.sort()) dl.append(QED.el("dt", {}, QED.el("abbr", { title: terms[t], text: t })), QED.el("dd", { text: terms[t] }));
    const locs = Object.values((model.risk && model.risk.levels_of_concern) || {});
    const details = QED.el("details", { className: "meta", id: "risk-glossary" },
      QED.el("summary", { text: "Abbreviations in the output names, and the levels of concern" }), dl);
    if (locs.length) {
      const ul = QED.el("ul");
      for (const l of locs) ul.append(QED.el("li", { text: `${l.label}: ${level(l.level)}${l.source ? ` (${l.source})` : ""}` }));
      details.append(QED.el("p", { text: "Levels of concern (LOC): a risk quotient at or above its level is marked." }), ul);
    }
    return details;
  }
  /* Mark a table cell that holds an exceedance: class, a visible sign, words for screen readers. */
  function mark(td, model, e) {
    td.classList.add("exceeds");
    const note = cellNote(model, e);
    td.title = td.title ? `${td.title} — ${note}` : note;
    td.prepend(QED.el("span", { className: "exceeds-sign", "aria-hidden": "true", text: "▲ " }));
    td.append(QED.el("span", { className: "visually-hidden", text: ` (${note})` }));
    return td;
  }
  return { summary, glossary, index, mark, sentence };
})();
