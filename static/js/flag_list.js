// The flag queue: filters apply on change; a click on a row opens its review; j/k choose a row;
// "Settle all matching" counts the selection (a dry run of the bulk API), then settles it in as
// many bounded calls as it takes. Keys: templates/quality/_queue_keys.html.
import { csrfToken } from "./label_saver.js";
import { go, ignoredKey, isTyping, setUpHelp } from "./queue_keys.js";

document.querySelectorAll("#flag-filters select").forEach((select) => {
  select.addEventListener("change", () => select.form.submit());
});
const rows = [...document.querySelectorAll("#flag-table tr.clickable")];
rows.forEach((row) => {
  row.tabIndex = 0;
  row.addEventListener("click", (event) => {
    if (event.target.closest("a")) return;
    window.location.href = row.dataset.href;
  });
});
const openHelp = setUpHelp();

function chosenRow() {
  return rows.indexOf(document.activeElement);
}

function choose(index) {
  if (!rows.length) return;
  rows[Math.max(0, Math.min(rows.length - 1, index))].focus();
}

// Settle all matching.
const panel = document.getElementById("bulk-panel");
const bulk = panel && JSON.parse(document.getElementById("bulk-data").textContent);
const form = document.getElementById("bulk-form");
const countText = document.getElementById("bulk-count");
const goButton = document.getElementById("bulk-go");
const result = document.getElementById("bulk-result");
const errorBox = document.getElementById("bulk-error");
const plural = (n, one, many) => `${n.toLocaleString()} ${n === 1 ? one : many}`;
let counted = null;
let busy = false;

async function callBulk(body) {
  let response;
  try {
    response = await fetch(bulk.url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": csrfToken() },
      body: JSON.stringify({ ...bulk.filters, ...body }),
    });
  } catch {
    throw new Error("The server could not be reached; nothing more was settled. Try again.");
  }
  let answer = null;
  try {
    answer = await response.json();
  } catch {
    answer = null;
  }
  if (!response.ok) {
    throw new Error(errorText(answer) || `The server refused (HTTP ${response.status}); nothing more was settled.`);
  }
  if (!answer || typeof answer.remaining !== "number") throw new Error("The server's answer was not understood.");
  return answer;
}

function errorText(answer) {
  if (!answer || typeof answer !== "object") return "";
  if (typeof answer.detail === "string") return answer.detail;
  return Object.entries(answer)
    .map(([field, messages]) => `${field === "non_field_errors" ? "" : `${field}: `}${[].concat(messages).join(" ")}`)
    .join(" ");
}

function showError(message) {
  errorBox.replaceChildren();
  const li = document.createElement("p");
  li.className = "error";
  li.textContent = message;
  errorBox.append(li);
  errorBox.hidden = !message;
}

function action() {
  return form.querySelector("input[name=action]:checked").value;
}

function describeAction() {
  const n = counted ? counted.count : 0;
  goButton.textContent = action() === "dismiss" ? `Dismiss ${plural(n, "flag", "flags")}` : `Accept the consensus on ${plural(n, "flag", "flags")}`;
  goButton.disabled = busy || !n;
}

async function openPanel() {
  if (!panel || busy) return;
  panel.hidden = false;
  result.hidden = true;
  showError("");
  counted = null;
  countText.textContent = "Counting…";
  goButton.disabled = true;
  panel.scrollIntoView({ block: "nearest" });
  try {
    counted = await callBulk({ action: action(), dry_run: true });
    countText.textContent = counted.count
      ? `${plural(counted.count, "open flag matches", "open flags match")} these filters. Dry run: ${counted.remaining.toLocaleString()} to settle, ${counted.skipped} skipped.`
      : "No open flag matches these filters.";
  } catch (error) {
    countText.textContent = "";
    showError(error.message);
  }
  describeAction();
  form.querySelector("input[name=action]:checked").focus();
}

function closePanel() {
  if (panel && !busy) panel.hidden = true;
}

async function settleAll(event) {
  event.preventDefault();
  if (busy || !counted || !counted.count) return;
  const note = document.getElementById("bulk-note").value.trim();
  if (action() === "dismiss" && !note) {
    showError("Say why you dismiss these flags; the labelers will read it.");
    document.getElementById("bulk-note").focus();
    return;
  }
  busy = true;
  describeAction();
  showError("");
  let settled = 0;
  let last = null;
  let calls = 0;
  let failed = false;
  try {
    // Each call works on a bounded number of images: call again while some remain that were
    // not skipped, and stop if a call settles nothing (only skipped images left in its batch).
    do {
      last = await callBulk({ action: action(), note });
      settled += last.settled;
      calls += 1;
      result.hidden = false;
      result.textContent = `Settling… ${plural(settled, "flag", "flags")} settled so far.`;
    } while (last.remaining > last.skipped && last.settled > 0 && calls < 1000);
  } catch (error) {
    failed = true;
    showError(error.message);
  }
  busy = false;
  if (last) {
    const left = last.remaining
      ? ` ${plural(last.remaining, "selected flag is", "selected flags are")} still open${last.skipped ? `: ${plural(last.skipped, "is on an image", "are on images")} whose labelers tie on a class, so the consensus cannot be accepted; review those by image, or dismiss them` : ""}.`
      : " None of the selected flags is open any more.";
    result.hidden = false;
    result.innerHTML = "";
    const p = document.createElement("p");
    p.id = "bulk-summary";
    p.textContent = `Settled ${plural(settled, "flag", "flags")} (with those settled along on the same images).${left}`;
    const reload = document.createElement("a");
    reload.className = "button primary";
    reload.id = "bulk-reload";
    reload.href = window.location.pathname + window.location.search.replace(/([?&])page=\d+&?/, "$1");
    reload.textContent = "Show what is left";
    result.append(p, reload);
    result.dataset.done = "1";
    reload.focus();
  }
  goButton.disabled = !failed; // after a refusal the lead may try again
}

if (panel) {
  document.getElementById("bulk-open").addEventListener("click", openPanel);
  document.getElementById("bulk-cancel").addEventListener("click", closePanel);
  form.addEventListener("submit", settleAll);
  form.querySelectorAll("input[name=action]").forEach((radio) => radio.addEventListener("change", describeAction));
}

document.addEventListener("keydown", (event) => {
  if (ignoredKey(event)) return;
  if (isTyping(event)) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const key = event.key;
  const row = rows[chosenRow()];
  if (key === "?") openHelp();
  else if (key === "j") choose(chosenRow() + 1);
  else if (key === "k") choose(chosenRow() < 0 ? 0 : chosenRow() - 1);
  else if ((key === "Enter" || key === "o") && row) window.location.href = row.dataset.href;
  else if (key === "i") {
    if (row) window.location.href = row.dataset.imageHref;
    else go("review-images");
  } else if (key === "s" && panel) {
    event.preventDefault();
    openPanel();
  } else if (key === "Escape") closePanel();
  else if (key === "n") go("next-page");
  else if (key === "p") go("prev-page");
});
