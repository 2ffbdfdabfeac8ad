/* My jobs: GET /jobs, newest first, a page at a time: each job's full id (with a button
   to copy it), label, model, status, runs, times with their zone, and Cancel for a job
   queued or running (DELETE /jobs/<id>, then the list again). */
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const body = document.querySelector("#jobs tbody");
  const more = document.getElementById("jobs-more");
  const status = document.getElementById("jobs-status");
  const WORDS = { PENDING: "Queued", STARTED: "Running", SUCCESS: "Finished", FAILURE: "Failed", REVOKED: "Cancelled" };
  const ACTIVE = new Set(["PENDING", "STARTED"]);
  /* The page's own filters (?model=app/model&status=...) become the API's. */
  function first() {
    const page = new URLSearchParams(window.location.search);
    const query = new URLSearchParams({ limit: "50" });
    const [app, model] = (page.get("model") || "").split("/");
    if (app && model) { query.set("app", app); query.set("model", model); }
    if (page.get("status")) query.set("status", page.get("status"));
    return `/jobs?${query}`;
  }

  async function copy(jobId, button) {
    try {
      await navigator.clipboard.writeText(jobId);
      status.textContent = `Job id ${jobId} copied.`;
    } catch (e) { // no clipboard here: select the id for the user to copy
      const code = button.parentElement.querySelector("code");
      window.getSelection().selectAllChildren(code);
      status.textContent = "Job id selected; copy it with Ctrl+C.";
    }
  }
  async function cancel(job, button) {
    button.disabled = true;
    status.textContent = `Cancelling job ${job.job_id.slice(0, 8)}…`;
    const response = await QED.call(`/jobs/${encodeURIComponent(job.job_id)}`, { method: "DELETE" });
    const data = await QED.body(response);
    status.textContent = response.ok ? `Job ${job.job_id.slice(0, 8)} cancelled.`
      : `Job ${job.job_id.slice(0, 8)} was not cancelled: ${QED.plain(response.status, data)}`;
    await load(true);
  }

  /* A time with its zone, as its date and its time of day, each kept on one line. */
  function stamp(iso) {
    if (!iso) return "";
    const [day, clock] = QED.when(iso).split(" ");
    return QED.el("time", { datetime: iso }, QED.el("span", { className: "day", text: day }), " ",
      QED.el("span", { className: "clock", text: clock || "" }));
  }

  function row(job) {
    const short = job.job_id.slice(0, 8);
    const link = QED.el("a", { href: `${QED.ui}/jobs/${encodeURIComponent(job.job_id)}`, "aria-label": `Job ${job.job_id}` },
      QED.el("code", { text: job.job_id }));
    const copyButton = QED.el("button", { type: "button", className: "small copy", text: "Copy",
      "aria-label": `Copy the id of job ${short}` });
    copyButton.addEventListener("click", () => copy(job.job_id, copyButton));
    const actions = QED.el("td", {});
    if (ACTIVE.has(job.status)) {
      const button = QED.el("button", { type: "button", className: "small cancel", text: "Cancel",
        "aria-label": `Cancel job ${short}${job.label ? ` (${job.label})` : ""}` });
      button.addEventListener("click", () => cancel(job, button));
      actions.append(button);
    }
    const progress = job.status === "SUCCESS" ? 100 : Math.round(job.progress || 0);
    return QED.el("tr", { "data-job": job.job_id },
      QED.el("th", { scope: "row", className: "job-id" }, link, " ", copyButton),
      QED.el("td", { text: job.label || "", className: "label" }),
      QED.el("td", { text: `${job.app}/${job.model}` }),
      QED.el("td", { text: `${WORDS[job.status] || job.status}`, className: `status status-${(job.status || "").toLowerCase()}` }),
      QED.el("td", { text: job.runs === undefined ? "" : String(job.runs), className: "num runs" }),
      QED.el("td", { text: `${progress} %`, className: "num" }),
      QED.el("td", {}, stamp(job.created)),
      QED.el("td", {}, stamp(job.finished)),
      actions);
  }

  let next = first();
  async function load(reset) {
    if (reset) next = first();
    const response = await QED.call(next);
    const data = await QED.body(response);
    if (!response.ok) { QED.notice(QED.plain(response.status, data)); return; }
    if (reset) body.replaceChildren();
    for (const job of data.jobs) body.append(row(job));
    next = data.next;
    more.hidden = !next;
    document.getElementById("jobs-empty").hidden = body.children.length > 0;
  }
  more.addEventListener("click", () => load(false));
  document.addEventListener("qed:key", () => load(true));
  load(true);
});
