"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const search = document.getElementById("search");
  const count = document.getElementById("search-count");
  const models = Array.from(document.querySelectorAll(".model"));
  function filter() {
    const words = search.value.toLowerCase().split(/\s+/).filter(Boolean);
    let shown = 0;
    for (const item of models) {
      const match = words.every((w) => item.dataset.search.includes(w));
      item.hidden = !match;
      if (match) shown += 1;
    }
    for (const section of document.querySelectorAll("section.app")) {
      section.hidden = !section.querySelector(".model:not([hidden])");
    }
    document.getElementById("no-match").hidden = shown > 0;
    count.textContent = words.length ? `${shown} of ${models.length} models match.` : "";
  }
  search.addEventListener("input", filter);
  filter();
});
