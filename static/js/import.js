// Follow the runs shown on the Import page (an import, then the assessment it started) until
// they end; then reload the page, which shows the finished report.
const boxes = [...document.querySelectorAll("[data-run]")].filter(
  (box) => !["succeeded", "failed"].includes(box.dataset.state),
);
const unit = { import: "label files", recompute: "images" };

async function follow(box) {
  const text = box.querySelector(".run-text");
  const bar = box.querySelector("progress");
  for (;;) {
    try {
      const response = await fetch(`/api/runs/${box.dataset.run}/`, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const run = await response.json();
      bar.value = run.progress ?? 0;
      const phase = run.report && run.report.phase ? ` (${run.report.phase})` : "";
      text.textContent = `${run.state}${phase}: ${run.done} of ${run.total} ${unit[run.kind] || ""}`;
      if (run.state === "succeeded" || run.state === "failed") return true;
    } catch (error) {
      text.textContent = `Could not read progress (${error.message}); retrying…`;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

if (boxes.length) {
  Promise.all(boxes.map(follow)).then(() => window.location.reload());
}
