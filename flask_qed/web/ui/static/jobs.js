/* My jobs: GET /jobs, newest first, a page at a time. */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const body = document.querySelector("#jobs tbody");
  const more = document.getElementById("jobs-more");
  const WORDS = { PENDING: "Queued", STARTED: "Running", SUCCESS: "Finished", FAILURE: "Failed", REVOKED: "Cancelled" };
  /* The page's own filters (?model=app/model&status=...) become the API's. */
  function first() {
    const page = new URLSearchParams(window.location.search);
    const query = new URLSearchParams({ limit: "50" });
    const [app, model] = (page.get("model") || "").split("/");
    if (app && model) { query.set("app", app); query.set("model", model); }
    if (page.get("status")) query.set("status", page.get("status"));
    return `/jobs?${query}`;
  }
  let next = first();
  async function load(reset) {
    if (reset) { body.replaceChildren(); next = first(); }
    const response = await QED.call(next);
    const data = await QED.body(response);
    if (!response.ok) { QED.notice(QED.plain(response.status, data)); return; }
    for (const job of data.jobs) {
      const link = QED.el("a", { href: `${QED.ui}/jobs/${encodeURIComponent(job.job_id)}`, text: job.job_id.slice(0, 8) });
      link.setAttribute("aria-label", `Job ${job.job_id}`);
      body.append(QED.el("tr", {},
        QED.el("th", { scope: "row" }, link),
        QED.el("td", { text: `${job.app}/${job.model}` }),
        QED.el("td", { text: `${WORDS[job.status] || job.status}`, className: `status-${(job.status || "").toLowerCase()}` }),
        QED.el("td", { text: `${job.status === "SUCCESS" ? 100 : Math.round(job.progress || 0)} %`, className: "num" }),
        QED.el("td", { text: QED.when(job.created) }),
        QED.el("td", { text: QED.when(job.finished) })));
    }
    next = data.next;
    more.hidden = !next;
    document.getElementById("jobs-empty").hidden = body.children.length > 0;
  }
  more.addEventListener("click", () => load(false));
  document.addEventListener("qed:key", () => load(true));
  load(true);
});
