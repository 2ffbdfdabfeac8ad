/* Small SVG charts with no library: a line chart over time and a map of grid cells.
   Every chart has a title and a description for screen readers; the page's tables hold
   the same numbers. Series differ by colour and by dash pattern, not by colour alone. */
"use strict";
const QEDChart = (() => {
  const NS = "http://www.w3.org/2000/svg";
  const COLOURS = ["#1b1b1b", "#0057b7", "#c2410c", "#15803d", "#7e22ce", "#b91c1c", "#0e7490", "#a16207"];
  const DASHES = ["", "8 4", "2 3", "10 3 2 3", "5 5", "1 2", "12 4 4 4", "3 6"];
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

  /* lines(container, {title, description, x: [ms], yLabel, series: [{name, values}]}) */
  function lines(container, spec) {
    const W = 800, H = 420, L = 72, R = 48, T = 16, B = 56;
    const { root, figure } = frame(container, spec.title, spec.description, W, H);
    const xs = spec.x;
    const all = spec.series.flatMap((s) => s.values).filter((v) => typeof v === "number" && isFinite(v));
    let ylo = Math.min(0, ...all), yhi = Math.max(...all, 0);
    if (yhi === ylo) yhi = ylo + 1;
    const yt = niceTicks(ylo, yhi * 1.04, 6); // headroom above the highest value
    ylo = Math.min(ylo, yt[0]); yhi = Math.max(yhi, yt[yt.length - 1]);
    const xlo = xs[0], xhi = xs[xs.length - 1] > xlo ? xs[xs.length - 1] : xlo + 1;
    const px = (v) => L + (v - xlo) / (xhi - xlo) * (W - L - R);
    const py = (v) => T + (1 - (v - ylo) / (yhi - ylo)) * (H - T - B);
    const axes = svg("g", { class: "axes" });
    for (const v of yt) {
      axes.append(svg("line", { x1: L, x2: W - R, y1: py(v), y2: py(v), class: "grid" }));
      axes.append(text(L - 8, py(v) + 4, label(v), { "text-anchor": "end" }));
    }
    const span = xhi - xlo;
    const MIN = 60000, HOUR = 60 * MIN, DAY = 24 * HOUR;
    const steps = [MIN, 5 * MIN, 15 * MIN, 30 * MIN, HOUR, 2 * HOUR, 3 * HOUR, 6 * HOUR, 12 * HOUR,
      DAY, 2 * DAY, 7 * DAY, 14 * DAY, 30 * DAY, 61 * DAY, 91 * DAY, 182 * DAY, 365 * DAY];
    const step = steps.find((st) => span / st <= 7) || span / 6;
    for (let v = Math.ceil(xlo / step) * step; v <= xhi; v += step) {
      const iso = new Date(v).toISOString();
      const words = step < DAY ? iso.slice(5, 16).replace("T", " ") : iso.slice(0, 10);
      axes.append(svg("line", { x1: px(v), x2: px(v), y1: H - B, y2: H - B + 5, class: "tick" }));
      axes.append(text(px(v), H - B + 20, words, { "text-anchor": "middle" }));
    }
    axes.append(svg("line", { x1: L, x2: W - R, y1: H - B, y2: H - B, class: "axis" }));
    axes.append(svg("line", { x1: L, x2: L, y1: T, y2: H - B, class: "axis" }));
    axes.append(text(W / 2, H - 8, spec.xLabel || "Time", { "text-anchor": "middle", class: "axis-label" }));
    axes.append(text(16, (H - B) / 2, spec.yLabel, { "text-anchor": "middle", class: "axis-label", transform: `rotate(-90 16 ${(H - B) / 2})` }));
    root.append(axes);
    const legend = document.createElement("ul");
    legend.className = "legend";
    spec.series.forEach((s, i) => {
      const colour = COLOURS[i % COLOURS.length], dash = DASHES[i % DASHES.length];
      const step = Math.max(1, Math.floor(xs.length / 2000)); // at most ~2000 points a line
      const points = [];
      for (let k = 0; k < xs.length; k += step) {
        if (typeof s.values[k] === "number" && isFinite(s.values[k])) points.push(`${px(xs[k]).toFixed(1)},${py(s.values[k]).toFixed(1)}`);
      }
      root.append(svg("polyline", { points: points.join(" "), fill: "none", stroke: colour, "stroke-width": 2, "stroke-dasharray": dash || null, class: "series" }));
      const swatch = svg("svg", { width: 36, height: 10, "aria-hidden": "true", focusable: "false" },
        svg("line", { x1: 0, x2: 36, y1: 5, y2: 5, stroke: colour, "stroke-width": 3, "stroke-dasharray": dash || null }));
      const item = document.createElement("li");
      item.append(swatch, ` ${s.name}`);
      legend.append(item);
    });
    figure.append(legend);
    return root;
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
  const RAMP = ["#f7fcb9", "#c2e699", "#78c679", "#31a354", "#006837"]; // 0-20-40-60-80-100 %
  const INK = ["#1b1b1b", "#1b1b1b", "#1b1b1b", "#ffffff", "#ffffff"];

  /* map(container, {title, description, cells: [{lon, lat, value}], size, outline: rings}) */
  function map(container, spec) {
    const half = spec.size / 2;
    const lons = spec.cells.flatMap((c) => [c.lon - half, c.lon + half]).concat(spec.outline.flat().map((p) => p[0]));
    const lats = spec.cells.flatMap((c) => [c.lat - half, c.lat + half]).concat(spec.outline.flat().map((p) => p[1]));
    const west = Math.min(...lons), east = Math.max(...lons), south = Math.min(...lats), north = Math.max(...lats);
    const k = Math.cos(((north + south) / 2) * Math.PI / 180); // equirectangular, true at mid-latitude
    const W = 800, pad = 20;
    const scale = (W - 2 * pad) / Math.max((east - west) * k, 1e-9);
    const H = Math.min(900, Math.max(200, (north - south) * scale + 2 * pad + 50));
    const s = Math.min(scale, (H - 2 * pad - 50) / Math.max(north - south, 1e-9));
    const px = (lon) => pad + (lon - west) * k * s;
    const py = (lat) => pad + (north - lat) * s;
    const { root } = frame(container, spec.title, spec.description, W, H);
    const cells = svg("g", { class: "cells" });
    for (const c of spec.cells) {
      const bin = Math.min(4, Math.max(0, Math.floor((c.value || 0) / 20)));
      const rect = svg("rect", { x: px(c.lon - half), y: py(c.lat + half), width: Math.max(0.5, spec.size * k * s), height: Math.max(0.5, spec.size * s), fill: RAMP[bin], stroke: "#4b5563", "stroke-width": 0.75 });
      const tip = svg("title");
      tip.textContent = `Cell centred at ${c.lat.toFixed(4)}° N, ${c.lon.toFixed(4)}° E: ${(+c.value).toFixed(1)} % of the cell in catchment ${c.feature}`;
      rect.append(tip);
      cells.append(rect);
      if (spec.cells.length <= 60 && spec.size * s > 34) {
        cells.append(text(px(c.lon), py(c.lat) + 4, `${Math.round(c.value)} %`, { "text-anchor": "middle", fill: INK[bin], class: "cell-label" }));
      }
    }
    root.append(cells);
    if (spec.outline.length) {
      const d = spec.outline.map((ring) => "M" + ring.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join("L") + "Z").join(" ");
      root.append(svg("path", { d, fill: "none", stroke: "#b91c1c", "stroke-width": 2.5, "fill-rule": "evenodd", class: "outline" }));
    }
    const legend = svg("g", { class: "map-legend", transform: `translate(${pad},${H - 34})` });
    legend.append(text(0, -4, "Percent of the cell inside the catchment", {}));
    RAMP.forEach((colour, i) => {
      legend.append(svg("rect", { x: i * 100, y: 2, width: 28, height: 16, fill: colour, stroke: "#4b5563" }));
      legend.append(text(i * 100 + 34, 15, `${i * 20}–${i * 20 + 20} %`, {}));
    });
    if (spec.outline.length) {
      legend.append(svg("line", { x1: 510, x2: 540, y1: 10, y2: 10, stroke: "#b91c1c", "stroke-width": 2.5 }));
      legend.append(text(546, 15, "catchment outline", {}));
    }
    root.append(legend);
    return root;
  }
  return { lines, map, rings };
})();
