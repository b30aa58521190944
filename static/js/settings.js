// Poll a run started from this page until it ends: the recompute a threshold change started, or
// a registration of images from the bucket.
function follow(box, bar, text, describe) {
  const poll = async () => {
    try {
      const response = await fetch(`/api/runs/${box.dataset.run}/`, { headers: { Accept: "application/json" } });
      if (!response.ok) throw new Error(`status ${response.status}`);
      const run = await response.json();
      const done = run.done ?? 0, total = run.total ?? 0;
      bar.value = total ? done / total : (run.state === "succeeded" ? 1 : 0);
      text.textContent = describe(run, done, total);
      if (run.state === "succeeded") { box.dataset.state = "done"; return; }
      if (run.state === "failed") { text.textContent = `Failed: ${run.error || "see the worker log"}`; box.dataset.state = "failed"; return; }
    } catch (error) {
      text.textContent = `Could not read progress (${error.message}); retrying…`;
    }
    setTimeout(poll, 1000);
  };
  poll();
}

const recompute = document.getElementById("run-progress");
if (recompute) {
  follow(recompute, document.getElementById("run-bar"), document.getElementById("run-text"), (run, done, total) =>
    run.state === "succeeded" ? `Done: ${total} images reassessed.` : `${run.state}: ${done} of ${total} images`);
}

const registration = document.getElementById("register-progress");
if (registration) {
  const text = document.getElementById("register-text");
  follow(registration, document.getElementById("register-bar"), text, (run, done, total) => {
    const r = run.results || {};
    const counts = `${r.added ?? 0} added, ${r.duplicate ?? 0} duplicates, ${r.refused ?? 0} refused, ${r.skipped ?? 0} skipped, ${r.already ?? 0} already in the project`;
    if (run.state !== "succeeded") return `${run.state}: ${done} of ${total} objects examined so far (${counts})`;
    if (r.refused) {
      queueMicrotask(() => {
        const link = document.createElement("a");
        link.href = registration.dataset.objects;
        link.textContent = "why each was refused";
        text.append(" ", link);
      });
    }
    return `Done: ${counts}.`;
  });
}
