// Poll the recompute started by a threshold change until it ends.
const box = document.getElementById("run-progress");
if (box) {
  const bar = document.getElementById("run-bar");
  const text = document.getElementById("run-text");
  const poll = async () => {
    try {
      const response = await fetch(`/api/runs/${box.dataset.run}/`, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const run = await response.json();
      const done = run.done ?? 0, total = run.total ?? 0;
      bar.value = total ? done / total : (run.state === "succeeded" ? 1 : 0);
      text.textContent = `${run.state}: ${done} of ${total} images`;
      if (run.state === "succeeded") { text.textContent = `Done: ${total} images reassessed.`; box.dataset.state = "done"; return; }
      if (run.state === "failed") { text.textContent = `Failed: ${run.error || "see the worker log"}`; box.dataset.state = "failed"; return; }
    } catch (error) {
      text.textContent = `Could not read progress (${error.message}); retrying…`;
    }
    setTimeout(poll, 1000);
  };
  poll();
}
