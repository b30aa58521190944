// The instructions editor: live preview rendered by the server (the same sanitising renderer
// labelers' pages use), and images uploaded into the project and inserted as Markdown.

const form = document.querySelector("form[data-preview-url]");
const body = document.getElementById("id_body");
const preview = document.getElementById("preview");
const previewState = document.getElementById("preview-state");
const status = document.getElementById("upload-status");
const fileInput = document.getElementById("asset-file");
const csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
const initial = body.value;

let timer = null;
let sent = 0;
let shown = 0;

async function post(url, data) {
  const response = await fetch(url, {
    method: "POST",
    body: data,
    headers: { "X-CSRFToken": csrf, Accept: "application/json" },
    credentials: "same-origin",
  });
  let payload = {};
  try {
    payload = await response.json();
  } catch {
    payload = { detail: `The server answered ${response.status}.` };
  }
  if (!response.ok) throw new Error(payload.detail || `The server answered ${response.status}.`);
  return payload;
}

async function refreshPreview() {
  const mine = ++sent;
  const data = new FormData();
  data.append("body", body.value);
  previewState.textContent = "updating…";
  try {
    const { html } = await post(form.dataset.previewUrl, data);
    if (mine < shown) return; // an older answer arriving late
    shown = mine;
    preview.innerHTML = html; // sanitised by the server (nh3), as on the project page
    if (mine === sent) previewState.textContent = "";
  } catch (error) {
    previewState.textContent = `Preview failed: ${error.message}`;
  }
}

function schedulePreview() {
  clearTimeout(timer);
  timer = setTimeout(refreshPreview, 250);
}

function insertAtCursor(text) {
  const start = body.selectionStart ?? body.value.length;
  const end = body.selectionEnd ?? start;
  const before = body.value.slice(0, start);
  const after = body.value.slice(end);
  const lead = before && !before.endsWith("\n\n") ? (before.endsWith("\n") ? "\n" : "\n\n") : "";
  const tail = after.startsWith("\n") ? "\n" : "\n\n";
  body.value = before + lead + text + tail + after;
  const caret = (before + lead + text + tail).length;
  body.setSelectionRange(caret, caret);
  body.focus();
  schedulePreview();
}

async function upload(files) {
  for (const file of files) {
    status.textContent = `Uploading ${file.name}…`;
    const data = new FormData();
    data.append("image", file, file.name);
    try {
      const asset = await post(form.dataset.uploadUrl, data);
      insertAtCursor(asset.markdown);
      status.textContent = `Added ${file.name} (${asset.width}×${asset.height}). Only this project's members can see it.`;
    } catch (error) {
      status.textContent = `Not added: ${error.message}`;
      status.classList.add("error");
      return;
    }
    status.classList.remove("error");
  }
}

body.addEventListener("input", schedulePreview);
fileInput.addEventListener("change", () => {
  upload([...fileInput.files]);
  fileInput.value = "";
});
body.addEventListener("dragover", (event) => {
  if ([...event.dataTransfer.types].includes("Files")) {
    event.preventDefault();
    body.classList.add("dragging");
  }
});
body.addEventListener("dragleave", () => body.classList.remove("dragging"));
body.addEventListener("drop", (event) => {
  body.classList.remove("dragging");
  const images = [...event.dataTransfer.files].filter((f) => f.type.startsWith("image/"));
  if (images.length) {
    event.preventDefault();
    upload(images);
  }
});
body.addEventListener("paste", (event) => {
  const images = [...event.clipboardData.files].filter((f) => f.type.startsWith("image/"));
  if (images.length) {
    event.preventDefault();
    upload(images);
  }
});

let submitting = false;
form.addEventListener("submit", () => {
  submitting = true;
});
window.addEventListener("beforeunload", (event) => {
  if (!submitting && body.value !== initial) event.preventDefault();
});
