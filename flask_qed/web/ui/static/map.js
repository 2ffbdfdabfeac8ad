/* The percent-area map: grid cells coloured by the percent of each inside the catchment,
   the catchment outline, a graticule labelled in degrees (west and south as "° W" and
   "° S"), a scale bar and a north arrow. Equirectangular, true to scale at the map's
   middle latitude, so the scale bar holds across a catchment-sized map. */
"use strict";
const QEDMap = (() => {
  const { svg, text, frame, niceTicks } = QEDChart.parts;
  const RAMP = ["#f7fcb9", "#c2e699", "#78c679", "#31a354", "#006837"]; // 0-20-40-60-80-100 %
  const INK = ["#1b1b1b", "#1b1b1b", "#1b1b1b", "#ffffff", "#ffffff"];
  const KM_PER_DEGREE = 111.32; // of latitude, and of longitude at the equator

  /* 84.25 -> "84.25° E", -84.25 -> "84.25° W" (never a negative "east"). */
  function lonText(lon, digits) {
    const v = +Math.abs(lon).toFixed(digits);
    return v === 0 ? "0°" : `${v.toFixed(digits)}° ${lon < 0 ? "W" : "E"}`;
  }
  function latText(lat, digits) {
    const v = +Math.abs(lat).toFixed(digits);
    return v === 0 ? "0°" : `${v.toFixed(digits)}° ${lat < 0 ? "S" : "N"}`;
  }
  function digitsOf(ticks) {
    const step = ticks.length > 1 ? Math.abs(ticks[1] - ticks[0]) : 1;
    return Math.max(0, Math.min(6, -Math.floor(Math.log10(step) + 1e-9)));
  }

  function draw(container, spec) {
    const half = spec.size / 2;
    const outline = spec.outline || [];
    const lons = spec.cells.flatMap((c) => [c.lon - half, c.lon + half]).concat(outline.flat().map((p) => p[0]));
    const lats = spec.cells.flatMap((c) => [c.lat - half, c.lat + half]).concat(outline.flat().map((p) => p[1]));
    let west = Math.min(...lons), east = Math.max(...lons), south = Math.min(...lats), north = Math.max(...lats);
    const margin = Math.max(east - west, north - south, 1e-6) * 0.04; // room for the arrow and the bar
    west -= margin; east += margin; south -= margin; north += margin;
    const k = Math.cos(((north + south) / 2) * Math.PI / 180);
    const W = 800, L = 84, R = 24, T = 16, B = 34, LEGEND = 56;
    const s = Math.min((W - L - R) / Math.max((east - west) * k, 1e-9), 560 / Math.max(north - south, 1e-9));
    const plotW = (east - west) * k * s, plotH = (north - south) * s;
    const H = Math.max(220, T + plotH + B + LEGEND);
    const px = (lon) => L + (lon - west) * k * s;
    const py = (lat) => T + (north - lat) * s;
    const { root } = frame(container, spec.title, spec.description, W, H);
    root.append(graticule(west, east, south, north, px, py, plotW, plotH, L, T));
    root.append(cellsOf(spec, px, py, k * s, s, half));
    if (outline.length) {
      const d = outline.map((ring) => "M" + ring.map((p) => `${px(p[0]).toFixed(1)},${py(p[1]).toFixed(1)}`).join("L") + "Z").join(" ");
      root.append(svg("path", { d, fill: "none", stroke: "#b91c1c", "stroke-width": 2.5, "fill-rule": "evenodd", class: "outline" }));
    }
    root.append(svg("rect", { x: L, y: T, width: plotW, height: plotH, fill: "none", class: "axis frame" }));
    root.append(scaleBar(s, L + 10, T + plotH - 14, plotW));
    root.append(northArrow(L + plotW - 24, T + 8));
    root.append(legendOf(outline.length > 0, L, T + plotH + B + 16));
    return root;
  }

  function graticule(west, east, south, north, px, py, plotW, plotH, L, T) {
    const g = svg("g", { class: "graticule" });
    const lonTicks = niceTicks(west, east, plotW > 500 ? 7 : 3).filter((v) => v >= west && v <= east);
    const latTicks = niceTicks(south, north, plotH > 300 ? 5 : 3).filter((v) => v >= south && v <= north);
    const dLon = digitsOf(lonTicks), dLat = digitsOf(latTicks);
    for (const lon of lonTicks) {
      g.append(svg("line", { x1: px(lon), x2: px(lon), y1: T, y2: T + plotH, class: "grid" }));
      g.append(text(px(lon), T + plotH + 18, lonText(lon, dLon), { "text-anchor": "middle", class: "lon-label" }));
    }
    for (const lat of latTicks) {
      g.append(svg("line", { x1: L, x2: L + plotW, y1: py(lat), y2: py(lat), class: "grid" }));
      g.append(text(L - 6, py(lat) + 4, latText(lat, dLat), { "text-anchor": "end", class: "lat-label" }));
    }
    return g;
  }

  function cellsOf(spec, px, py, sx, sy, half) {
    const g = svg("g", { class: "cells" });
    for (const c of spec.cells) {
      const bin = Math.min(4, Math.max(0, Math.floor((c.value || 0) / 20)));
      const rect = svg("rect", { x: px(c.lon - half), y: py(c.lat + half), width: Math.max(0.5, spec.size * sx), height: Math.max(0.5, spec.size * sy), fill: RAMP[bin], stroke: "#4b5563", "stroke-width": 0.75 });
      const tip = svg("title");
      tip.textContent = `Cell centred at ${latText(c.lat, 4)}, ${lonText(c.lon, 4)}: ${(+c.value).toFixed(1)} % of the cell in catchment ${c.feature}`;
      rect.append(tip);
      g.append(rect);
      if (spec.cells.length <= 60 && spec.size * sy > 34) {
        g.append(text(px(c.lon), py(c.lat) + 4, `${Math.round(c.value)} %`, { "text-anchor": "middle", fill: INK[bin], class: "cell-label" }));
      }
    }
    return g;
  }

  /* A bar of a round length (1, 2 or 5 × 10^n km or m) about a quarter of the map wide. */
  function scaleBar(pxPerDegree, x, y, plotW) {
    const kmPerPx = KM_PER_DEGREE / pxPerDegree;
    const target = kmPerPx * Math.max(60, plotW / 4);
    const mag = Math.pow(10, Math.floor(Math.log10(target)));
    const km = [5, 2, 1].map((m) => m * mag).find((v) => v <= target) || mag;
    const length = km / kmPerPx;
    const words = km >= 1 ? `${+km.toPrecision(3)} km` : `${+(km * 1000).toPrecision(3)} m`;
    const g = svg("g", { class: "scale-bar", "data-km": km, "data-px": length.toFixed(2) });
    const t = svg("title");
    t.textContent = `Scale: this bar is ${words} long`;
    g.append(t);
    g.append(svg("rect", { x: x - 6, y: y - 22, width: length + 12 + 8 * words.length, height: 30, fill: "#ffffff", "fill-opacity": 0.85 }));
    g.append(svg("rect", { x, y: y - 4, width: length / 2, height: 6, fill: "#1b1b1b" }));
    g.append(svg("rect", { x: x + length / 2, y: y - 4, width: length / 2, height: 6, fill: "#ffffff", stroke: "#1b1b1b" }));
    g.append(svg("rect", { x, y: y - 4, width: length, height: 6, fill: "none", stroke: "#1b1b1b" }));
    g.append(text(x, y - 9, "0", { "text-anchor": "middle" }));
    g.append(text(x + length, y - 9, words, { "text-anchor": "middle", class: "scale-label" }));
    return g;
  }

  function northArrow(x, y) {
    const g = svg("g", { class: "north-arrow", transform: `translate(${x},${y})` });
    const t = svg("title");
    t.textContent = "North is up";
    g.append(t);
    g.append(svg("circle", { cx: 0, cy: 22, r: 20, fill: "#ffffff", "fill-opacity": 0.85 }));
    g.append(svg("path", { d: "M0,6 L9,36 L0,29 Z", fill: "#1b1b1b" }));
    g.append(svg("path", { d: "M0,6 L-9,36 L0,29 Z", fill: "#ffffff", stroke: "#1b1b1b" }));
    g.append(text(0, 4, "N", { "text-anchor": "middle", "font-weight": 700 }));
    return g;
  }

  function legendOf(withOutline, x, y) {
    const legend = svg("g", { class: "map-legend", transform: `translate(${x},${y})` });
    legend.append(text(0, -4, "Percent of the cell inside the catchment", {}));
    RAMP.forEach((colour, i) => {
      legend.append(svg("rect", { x: i * 100, y: 2, width: 28, height: 16, fill: colour, stroke: "#4b5563" }));
      legend.append(text(i * 100 + 34, 15, `${i * 20}–${i * 20 + 20} %`, {}));
    });
    if (withOutline) {
      legend.append(svg("line", { x1: 510, x2: 540, y1: 10, y2: 10, stroke: "#b91c1c", "stroke-width": 2.5 }));
      legend.append(text(546, 15, "catchment outline", {}));
    }
    return legend;
  }
  return { draw, lonText, latText };
})();
