/* Small SVG charts with no library: a line chart over time and a map of grid cells.
   Every chart has a title and a description for screen readers; the page's tables hold
   the same numbers. Series differ by colour and by dash pattern, not by colour alone. */
"use strict";
const QEDChart = (() => {
  const NS = "http://www.w3.org/2000/svg";
  /* Sixteen colours told apart with the common colour-vision deficiencies: Okabe & Ito's
     palette (less its yellow, too pale on white), Paul Tol's muted palette and a dark brown. Each
     series also has its own dash pattern, so no two of the first 16 look alike. */
  const COLOURS = ["#000000", "#0072b2", "#d55e00", "#009e73", "#cc79a7", "#e69f00", "#56b4e9",
    "#332288", "#117733", "#882255", "#44aa99", "#999933", "#aa4499", "#cc6677", "#88ccee", "#6b4c00"];
  const DASHES = ["", "8 4", "2 3", "10 3 2 3", "5 5", "1 2", "12 4 4 4", "3 6", "6 2 1 2", "14 3"];
  const PICK_ABOVE = 6; // more series than this: a picker chooses which are drawn
  let counter = 0;

  function svg(tag, attrs, ...children) {
    const node = document.createElementNS(NS, tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined) node.setAttribute(k, v);
    for (const c of children) if (c !== null && c !== undefined) node.append(c);
    return node;
  }
  function text(x, y, content, attrs) {
    const node = svg("text", Object.assign({ x, y }, attrs || {}));
    node.textContent = content;
    return node;
  }
  function frame(container, title, description, width, height) {
    counter += 1;
    const id = `chart-${counter}`;
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-labelledby": `${id}-t ${id}-d`, class: "chart", id });
    const t = svg("title", { id: `${id}-t` });
    t.textContent = title;
    const d = svg("desc", { id: `${id}-d` });
    d.textContent = description;
    root.append(t, d);
    const figure = document.createElement("figure");
    const caption = document.createElement("figcaption");
    caption.textContent = title;
    figure.append(caption, root);
    container.append(figure);
    return { root, figure };
  }
  function niceTicks(lo, hi, count) {
    if (!(hi > lo)) { hi = lo + 1; }
    const raw = (hi - lo) / count;
    const mag = Math.pow(10, Math.floor(Math.log10(raw)));
    const step = [1, 2, 2.5, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
    const ticks = [];
    // from the first step at or above lo to the first at or above hi
    for (let v = Math.ceil(lo / step) * step; v < hi + step * (1 - 1e-9); v += step) ticks.push(+v.toPrecision(12));
    return ticks;
  }
  function label(v) {
    const a = Math.abs(v);
    return a !== 0 && (a >= 1e5 || a < 1e-3) ? v.toExponential(1) : String(+v.toPrecision(6));
  }

  /* lines(container, {title, description, x, numericX, xLabel, yLabel, series: [{name, values}], small})
     x: times in ms, or plain numbers with numericX (e.g. time steps). */
  function lines(container, spec) {
    const W = 800, H = spec.small ? 260 : 420, L = 72, R = 48, T = 16, B = 56;
    const { root, figure } = frame(container, spec.title, spec.description, W, H);
    if (spec.small) root.classList.add("small");
    const xs = spec.x;
    const all = spec.series.flatMap((s) => s.values).filter((v) => typeof v === "number" && isFinite(v));
    let ylo = Math.min(0, ...all), yhi = Math.max(...all, 0);
    if (yhi === ylo) yhi = ylo + 1;
    const yt = niceTicks(ylo, yhi * 1.04, spec.small ? 4 : 6); // headroom above the highest value
    ylo = Math.min(ylo, yt[0]); yhi = Math.max(yhi, yt[yt.length - 1]);
    const xlo = xs[0], xhi = xs[xs.length - 1] > xlo ? xs[xs.length - 1] : xlo + 1;
    const px = (v) => L + (v - xlo) / (xhi - xlo) * (W - L - R);
    const py = (v) => T + (1 - (v - ylo) / (yhi - ylo)) * (H - T - B);
    const axes = svg("g", { class: "axes" });
    for (const v of yt) {
      axes.append(svg("line", { x1: L, x2: W - R, y1: py(v), y2: py(v), class: "grid" }));
      axes.append(text(L - 8, py(v) + 4, label(v), { "text-anchor": "end" }));
    }
    for (const [v, words] of spec.numericX ? numberTicks(xlo, xhi, xs.every(Number.isInteger)) : timeTicks(xlo, xhi)) {
      axes.append(svg("line", { x1: px(v), x2: px(v), y1: H - B, y2: H - B + 5, class: "tick" }));
      axes.append(text(px(v), H - B + 20, words, { "text-anchor": "middle" }));
    }
    axes.append(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
    axes.append(svg("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
    axes.append(text(W / 2, H - 8, spec.xLabel || "Time", { "text-anchor": "middle", class: "axis-label" }));
    axes.append(text(16, (H - B) / 2, spec.yLabel, { "text-anchor": "middle", class: "axis-label", transform: `rotate(-90 16 ${(H - B) / 2})` }));
    root.append(axes);
    const step = Math.max(1, Math.floor(xs.length / 2000)); // at most ~2000 points a line
    const drawn = spec.series.map((s, i) => {
      const points = [];
      for (let k = 0; k < xs.length; k += step) {
        if (typeof s.values[k] === "number" && isFinite(s.values[k])) points.push(`${px(xs[k]).toFixed(1)},${py(s.values[k]).toFixed(1)}`);
      }
      const line = svg("polyline", { points: points.join(" "), fill: "none", stroke: colourOf(i), "stroke-width": 2, "stroke-dasharray": dashOf(i) || null, class: "series", "data-series": i });
      root.append(line);
      return line;
    });
    if (!spec.small || spec.series.length > 1) figure.append(legendOf(spec.series, drawn));
    return root;
  }
  function colourOf(i) { return COLOURS[i % COLOURS.length]; }
  function dashOf(i) { return DASHES[i % DASHES.length]; }
  function swatch(i) {
    return svg("svg", { width: 36, height: 10, "aria-hidden": "true", focusable: "false" },
      svg("line", { x1: 0, x2: 36, y1: 5, y2: 5, stroke: colourOf(i), "stroke-width": 3, "stroke-dasharray": dashOf(i) || null }));
  }
  /* The legend; with more than PICK_ABOVE series each entry is a checkbox choosing whether
     its line is drawn (at first: the first, the last and evenly spread ones between). */
  function legendOf(series, drawn) {
    const legend = document.createElement("ul");
    legend.className = "legend";
    const picking = series.length > PICK_ABOVE;
    const shown = new Set();
    for (let j = 0; j < PICK_ABOVE; j += 1) shown.add(Math.round(j * (series.length - 1) / (PICK_ABOVE - 1)));
    series.forEach((s, i) => {
      const item = document.createElement("li");
      if (!picking) { item.append(swatch(i), ` ${s.name}`); legend.append(item); return; }
      counter += 1;
      const box = document.createElement("input");
      Object.assign(box, { type: "checkbox", id: `pick-${counter}`, checked: shown.has(i) });
      box.dataset.series = i;
      const tag = document.createElement("label");
      tag.htmlFor = box.id;
      tag.className = "pick";
      tag.append(swatch(i), ` ${s.name}`);
      const follow = () => { if (box.checked) drawn[i].removeAttribute("display"); else drawn[i].setAttribute("display", "none"); };
      box.addEventListener("change", follow);
      follow();
      item.append(box, tag);
      legend.append(item);
    });
    if (!picking) return legend;
    const picker = document.createElement("fieldset");
    picker.className = "series-picker";
    const title = document.createElement("legend");
    title.textContent = `Series drawn (${series.length}; choose which)`;
    const all = document.createElement("button");
    const none = document.createElement("button");
    all.type = none.type = "button";
    all.textContent = "Draw all";
    none.textContent = "Draw none";
    const set = (on) => legend.querySelectorAll("input[type=checkbox]").forEach((b) => {
      b.checked = on; b.dispatchEvent(new Event("change"));
    });
    all.addEventListener("click", () => set(true));
    none.addEventListener("click", () => set(false));
    picker.append(title, legend, all, " ", none);
    return picker;
  }
  function numberTicks(lo, hi, whole) { // whole: only whole numbers (steps, rows)
    return niceTicks(lo, hi, 6).filter((v) => v >= lo && v <= hi && (!whole || Number.isInteger(v))).map((v) => [v, label(v)]);
  }
  function timeTicks(xlo, xhi) {
    const span = xhi - xlo;
    const MIN = 60000, HOUR = 60 * MIN, DAY = 24 * HOUR;
    const steps = [MIN, 5 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
      DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 61 * DAY, 91 * DAY, 182 * DAY, 365 * DAY];
    const step = steps.find((st) => span / st <= 7) || span / 6;
    const ticks = [];
    for (let v = Math.ceil(xlo / step) * step; v <= xhi; v += step) {
      const iso = new Date(v).toISOString();
      ticks.push([v, step < DAY ? iso.slice(5, 16).replace("T", " ") : iso.slice(0, 10)]);
    }
    return ticks;
  }

  /* GeoJSON (geometry, Feature, FeatureCollection) -> outer and inner rings of [lon, lat]. */
  function rings(geo) {
    if (!geo || typeof geo !== "object") return [];
    switch (geo.type) {
      case "FeatureCollection": return (geo.features || []).flatMap(rings);
      case "Feature": return rings(geo.geometry);
      case "GeometryCollection": return (geo.geometries || []).flatMap(rings);
      case "Polygon": return geo.coordinates || [];
      case "MultiPolygon": return (geo.coordinates || []).flat();
      default: return [];
    }
  }
  /* map(container, {title, description, cells: [{lon, lat, value, feature}], size, outline}):
     drawn by map.js (QEDMap), which loads after this file. */
  function map(container, spec) { return QEDMap.draw(container, spec); }
  return { lines, map, rings, parts: { svg, text, frame, niceTicks } };
})();
