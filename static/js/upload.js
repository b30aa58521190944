// Upload with a progress bar: the files go to the images API by XHR, whose upload events give
// the bytes sent; once sent, the server checks every file (and unpacks zips), which the page
// shows as a running clock rather than a bar stuck at 100%. Then one row per file: added,
// duplicate, or refused and why. Without JavaScript the form posts to the settings page.

const form = document.getElementById("upload-form");
const input = document.getElementById("id_files");
const button = document.getElementById("upload-button");
const cancel = document.getElementById("upload-cancel");
const box = document.getElementById("upload-progress");
const bar = document.getElementById("upload-bar");
const stage = document.getElementById("upload-stage");
const text = document.getElementById("upload-text");
const summary = document.getElementById("upload-summary");
const table = document.getElementById("ingest-results");

const mb = (bytes) => (bytes / 1048576).toFixed(bytes < 10485760 ? 1 : 0);
const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;
let xhr = null;
let clock = null;

function busy(on) {
  button.disabled = on;
  input.disabled = on;
  cancel.hidden = !on;
  if (!on) clearInterval(clock);
}

function showResults(body) {
  const rows = body.results || [];
  table.tBodies[0].replaceChildren(
    ...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.innerHTML = '<td></td><td><strong></strong> <span class="muted small"></span></td>';
      tr.cells[0].textContent = r.name;
      tr.cells[1].className = `ingest-${r.status}`;
      tr.cells[1].querySelector("strong").textContent = r.status;
      tr.cells[1].querySelector("span").textContent = r.reason || "";
      return tr;
    }),
  );
  table.hidden = rows.length === 0;
  const parts = [`${plural(body.added || 0, "image", "images")} added`];
  if (body.duplicate) parts.push(`${body.duplicate} already in the project`);
  if (body.refused) parts.push(`${body.refused} refused (reasons below)`);
  summary.hidden = false;
  summary.className = `upload-summary ${body.refused ? "has-refused" : "all-good"}`;
  summary.replaceChildren();
  const strong = document.createElement("strong");
  strong.textContent = `${parts.join(", ")}.`;
  summary.append(strong);
  if (body.added) {
    const link = document.createElement("a");
    link.href = form.dataset.images;
    link.textContent = " See them in the image browser.";
    summary.append(link);
  }
  if (!rows.length && body.detail) summary.append(` ${body.detail}`);
}

function fail(message) {
  busy(false);
  box.hidden = true;
  summary.hidden = false;
  summary.className = "upload-summary has-refused";
  summary.textContent = message;
}

form.addEventListener("submit", (event) => {
  event.preventDefault();
  if (!input.files.length) return fail("Choose one or more images (JPEG, PNG, WebP) or a zip first.");
  const data = new FormData();
  let total = 0;
  for (const file of input.files) {
    data.append("files", file);
    total += file.size;
  }
  const count = plural(input.files.length, "file", "files");
  xhr = new XMLHttpRequest();
  xhr.open("POST", form.dataset.api);
  xhr.setRequestHeader("X-CSRFToken", form.querySelector("[name=csrfmiddlewaretoken]").value);
  xhr.setRequestHeader("Accept", "application/json");
  xhr.upload.addEventListener("progress", (e) => {
    const sent = e.lengthComputable ? e.loaded : 0;
    bar.value = total ? Math.min(sent / (e.total || total), 1) : 0;
    text.textContent = `${mb(sent)} of ${mb(e.total || total)} MB (${Math.round(bar.value * 100)}%)`;
  });
  xhr.upload.addEventListener("load", () => {
    const started = Date.now();
    stage.textContent = "Sent. The server is checking";
    bar.removeAttribute("value"); // indeterminate: the bar moves while the server works
    const tick = () => {
      const seconds = Math.round((Date.now() - started) / 1000);
      text.textContent = `${count}${[...input.files].some((f) => f.name.toLowerCase().endsWith(".zip")) ? " (unpacking the zip)" : ""}… ${seconds} s`;
    };
    tick();
    clock = setInterval(tick, 1000);
  });
  xhr.addEventListener("load", () => {
    busy(false);
    box.hidden = true;
    let body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch {
      return fail(`The upload failed (HTTP ${xhr.status}). Try fewer or smaller files.`);
    }
    if (xhr.status >= 200 && xhr.status < 300) {
      showResults(body);
      form.reset();
    } else if (xhr.status === 400 && body.results) {
      showResults(body);
    } else {
      fail(body.detail || `The upload failed (HTTP ${xhr.status}).`);
    }
  });
  xhr.addEventListener("error", () => fail("The connection broke during the upload; nothing after that point arrived. Try again."));
  xhr.addEventListener("abort", () => fail("Upload cancelled."));
  busy(true);
  box.hidden = false;
  summary.hidden = true;
  table.hidden = true;
  stage.textContent = "Sending";
  bar.value = 0;
  text.textContent = `${count}, ${mb(total)} MB`;
  xhr.send(data);
});

cancel.addEventListener("click", () => xhr && xhr.abort());
