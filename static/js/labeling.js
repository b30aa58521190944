// The labeling page: take an image from the queue, draw boxes with Annotorious, pick classes by
// hotkey, autosave every change, submit and go on. Keyboard first; see the "Keys" panel.
//
// Coordinates: Annotorious reports geometry in natural image pixels; the API speaks pixels of
// the image as displayed (EXIF orientation applied), whose size the API gives as width/height.
// toApi/fromAnnotorious scale between the two, so they agree even if they ever differ.

import { StageView } from "./label_view.js";
import { api, Saver } from "./label_saver.js";

const config = JSON.parse(document.getElementById("label-config").textContent);
const classes = new Map(config.classes.map((c) => [c.id, c]));
const byKey = new Map(config.classes.filter((c) => c.hotkey).map((c) => [c.hotkey, c]));
const $ = (id) => document.getElementById(id);
const ui = {
  stage: $("stage"),
  inner: $("stage-inner"),
  empty: $("stage-empty"),
  status: $("save-status"),
  count: $("box-count"),
  notice: $("notice"),
  palette: $("palette"),
  guidance: $("guidance"),
  zoomLevel: $("zoom-level"),
};

const state = {
  annotationId: null,
  image: null, // {id, url, width, height} from the API
  status: null,
  anno: null,
  img: null,
  saver: null,
  currentClass: config.classes.length ? config.classes[0].id : null,
  activeSeconds: 0,
  lastSavedSeconds: 0,
  busy: false,
  // Annotorious selects a box it has just drawn (and again on the pointerup of a quick drag).
  // Those selections are undone at once, so the next drag draws again and a class key sets the
  // class of the next box; the set empties at the next pointer press.
  justDrawn: new Set(),
};

const view = new StageView({
  stage: ui.stage,
  inner: ui.inner,
  onZoom: (zoom) => {
    ui.zoomLevel.textContent = `${Math.round(zoom * 100)}%`;
    ui.zoomLevel.title = "Screen pixels per image pixel";
  },
});

// ---- status and messages -------------------------------------------------------------------

function showStatus(kind, text) {
  ui.status.dataset.state = kind;
  ui.status.textContent = text;
  if (kind === "failed") {
    const retry = document.createElement("button");
    retry.type = "button";
    retry.className = "link retry";
    retry.textContent = "Retry now";
    retry.addEventListener("click", () => state.saver && state.saver.retryNow());
    ui.status.append(" ", retry);
  }
  if (kind === "saved") hideNotice();
}

function showNotice(text, kind = "error") {
  ui.notice.textContent = text;
  ui.notice.dataset.kind = kind;
  ui.notice.hidden = false;
}

function hideNotice() {
  ui.notice.hidden = true;
}

// ---- classes -------------------------------------------------------------------------------

function classOf(annotation) {
  const body = (annotation.bodies || []).find((b) => b.purpose === "classifying");
  return body ? classes.get(Number(body.value)) : undefined;
}

function classBody(annotationId, classId) {
  return { id: `${annotationId}-class`, annotation: annotationId, purpose: "classifying", value: String(classId) };
}

function withClass(annotation, classId) {
  const others = (annotation.bodies || []).filter((b) => b.purpose !== "classifying");
  return { ...annotation, bodies: [...others, classBody(annotation.id, classId)] };
}

function selectClass(classId) {
  state.currentClass = classId;
  for (const chip of ui.palette.querySelectorAll(".class-chip")) {
    chip.classList.toggle("active", Number(chip.dataset.class) === classId);
    chip.setAttribute("aria-pressed", Number(chip.dataset.class) === classId);
  }
}

// A class key: the class of the selected box(es) changes, and it becomes the current class.
function pressClass(classId) {
  selectClass(classId);
  if (!state.anno) return;
  const selected = state.anno.getSelected();
  if (selected.length) {
    for (const annotation of selected) state.anno.updateAnnotation(withClass(annotation, classId));
    state.anno.cancelSelected(); // ready to draw the next box straight away
  }
}

function boxStyle(annotation, annotationState) {
  const c = classOf(annotation);
  const color = c ? c.color : "#888888";
  const selected = annotationState && annotationState.selected;
  return {
    fill: color,
    fillOpacity: selected ? 0.3 : 0.12,
    stroke: color,
    strokeOpacity: 1,
    strokeWidth: selected ? 3 : 2,
  };
}

// ---- geometry ------------------------------------------------------------------------------

function scale() {
  return { x: state.image.width / state.img.naturalWidth, y: state.image.height / state.img.naturalHeight };
}

function toApi(annotation) {
  const { x, y, w, h } = annotation.target.selector.geometry;
  const s = scale();
  const c = classOf(annotation);
  return {
    x: round(x * s.x),
    y: round(y * s.y),
    width: round(w * s.x),
    height: round(h * s.y),
    label_class: c ? c.id : state.currentClass,
  };
}

function fromApi(box) {
  const s = scale();
  const id = crypto.randomUUID();
  const x = box.x / s.x;
  const y = box.y / s.y;
  const w = box.width / s.x;
  const h = box.height / s.y;
  return {
    id,
    bodies: [classBody(id, box.label_class)],
    target: {
      annotation: id,
      selector: {
        type: "RECTANGLE",
        geometry: { x, y, w, h, bounds: { minX: x, minY: y, maxX: x + w, maxY: y + h } },
      },
    },
  };
}

function round(value) {
  return Math.round(value * 100) / 100;
}

function boxes() {
  return state.anno ? state.anno.getAnnotations().map(toApi) : [];
}

// ---- the image and its annotator -----------------------------------------------------------

function updateCount() {
  const n = state.anno ? state.anno.getAnnotations().length : 0;
  ui.count.textContent = `${n} box${n === 1 ? "" : "es"}`;
  ui.count.dataset.count = n;
}

function onStoreChange(event) {
  const created = (event.changes && event.changes.created) || [];
  for (const annotation of created) {
    if (!classOf(annotation) && state.currentClass !== null) {
      state.anno.updateAnnotation(withClass(annotation, state.currentClass));
    }
  }
  for (const annotation of created) state.justDrawn.add(annotation.id);
  updateCount();
  if (state.saver) state.saver.changed();
}

function loadImage(url) {
  return new Promise((resolve, reject) => {
    const img = document.createElement("img");
    img.id = "label-image";
    img.alt = "Image to label";
    img.draggable = false;
    img.onload = () => resolve(img);
    img.onerror = () => reject(new Error("The image could not be loaded."));
    img.src = url;
  });
}

async function open(annotation) {
  // annotation: {id, status, image, boxes, active_seconds}
  teardown();
  state.annotationId = annotation.id;
  state.image = annotation.image;
  state.status = annotation.status;
  state.activeSeconds = annotation.active_seconds || 0;
  state.lastSavedSeconds = state.activeSeconds;
  ui.empty.hidden = true;
  showStatus("idle", "Loading image…");
  const img = await loadImage(annotation.image.url);
  ui.inner.replaceChildren(img);
  state.img = img;
  view.attach(img);
  const anno = Annotorious.createImageAnnotator(img, {
    drawingEnabled: true,
    drawingMode: "drag",
    style: boxStyle,
  });
  state.anno = anno;
  anno.setAnnotations(annotation.boxes.map(fromApi), true);
  anno.state.store.observe(onStoreChange, { origin: "LOCAL" });
  anno.state.selection.subscribe((selection) => {
    const ids = (selection.selected || []).map((s) => s.id);
    if (ids.length && ids.every((id) => state.justDrawn.has(id))) anno.cancelSelected();
  });
  state.saver = new Saver({
    url: annotationUrl(annotation.id),
    collect: () => ({ boxes: boxes(), active_seconds: Math.round(state.activeSeconds) }),
    show: showStatus,
    onRefused: (message) => showNotice(message),
  });
  updateCount();
  const resumed = annotation.boxes.length ? ` (${annotation.boxes.length} restored)` : "";
  showStatus("saved", annotation.status === "submitted" ? `Submitted — editing${resumed}` : `Saved${resumed}`);
  document.title = `Image ${annotation.image.id} · Label`;
  ui.stage.dataset.annotation = annotation.id;
  ui.stage.dataset.image = annotation.image.id;
  ui.stage.dataset.width = annotation.image.width;
  ui.stage.dataset.height = annotation.image.height;
  ui.stage.dataset.ready = "1";
}

function teardown() {
  ui.stage.dataset.ready = "0";
  if (state.anno) {
    state.anno.destroy();
    state.anno = null;
  }
  state.saver = null;
  state.img = null;
}

function annotationUrl(id) {
  return config.annotationUrl.replace(/0\/$/, `${id}/`);
}

function submitUrl(id) {
  return config.submitUrl.replace(/0\/submit\/$/, `${id}/submit/`);
}

// ---- queue and submit ----------------------------------------------------------------------

async function next() {
  for (let attempt = 0; attempt < 5; attempt += 1) {
    const { status, data } = await api(config.queueUrl, { method: "POST" });
    if (status === 200) {
      const annotation = await api(annotationUrl(data.annotation));
      if (annotation.ok) return open(annotation.data);
      return showNotice(annotation.data ? annotation.data.detail : "The image could not be opened.");
    }
    if (status === 204) return finished();
    if (status === 409) {
      window.location.href = (data && data.project_url) || config.projectUrl;
      return;
    }
    if (status !== 503) {
      return showNotice((data && data.detail) || `The queue answered ${status}; reload the page.`);
    }
    await new Promise((resolve) => setTimeout(resolve, 1000 * (attempt + 1)));
  }
  showNotice("The queue is busy; reload the page in a moment.");
}

function finished() {
  teardown();
  ui.inner.replaceChildren();
  ui.empty.hidden = false;
  ui.empty.innerHTML =
    '<h2>Nothing left for you to label here.</h2><p>Thank you! Every image has its labels, or you labeled the rest already.</p>';
  const link = document.createElement("a");
  link.href = config.myWorkUrl;
  link.className = "button";
  link.textContent = "See my work";
  ui.empty.append(link);
  showStatus("idle", "All done");
  updateCount();
  for (const id of ["submit-next", "submit-empty"]) $(id).disabled = true;
}

async function submit({ empty = false } = {}) {
  if (!state.anno || state.busy) return;
  const count = state.anno.getAnnotations().length;
  if (empty && count) {
    showNotice(
      `This image has ${count} box${count === 1 ? "" : "es"}. Delete them first, or press Enter to submit them.`,
      "info",
    );
    return;
  }
  state.busy = true;
  try {
    showStatus("saving", "Submitting…");
    if (!(await state.saver.flush())) {
      const reason = state.saver.lastMessage || "the save did not finish";
      showStatus(state.saver.refused ? "refused" : "failed", "Not submitted");
      showNotice(`Not submitted, because your boxes are not saved: ${reason}`);
      return;
    }
    const { ok, data, status } = await api(submitUrl(state.annotationId), {
      method: "POST",
      body: { active_seconds: Math.round(state.activeSeconds) },
    });
    if (status === 409 && data && data.code === "instructions_not_acknowledged") {
      // New instructions came out while this image was open: the draft is kept; read, come back.
      showStatus("saved", "Saved, not submitted");
      showNotice(data.detail);
      const link = document.createElement("a");
      link.href = data.project_url || config.projectUrl;
      link.className = "button";
      link.id = "read-instructions";
      link.textContent = `Read version ${data.instructions} of the instructions`;
      ui.notice.append(" ", link);
      return;
    }
    if (!ok) {
      showStatus("failed", "Submit failed");
      showNotice((data && data.detail) || `Submitting failed (${status}); try again.`);
      return;
    }
    hideNotice();
    await next();
  } finally {
    state.busy = false;
  }
}

function deleteSelected() {
  if (!state.anno) return;
  const selected = state.anno.getSelected();
  for (const annotation of selected) state.anno.removeAnnotation(annotation.id);
  state.anno.cancelSelected();
}

// ---- keyboard ------------------------------------------------------------------------------

function toggleGuidance(show = ui.guidance.hidden) {
  ui.guidance.hidden = !show;
}

function onKey(event) {
  if (event.target.closest && event.target.closest("input, textarea, select")) return;
  const key = event.key;
  if (key === " ") {
    view.setSpace(true);
    event.preventDefault();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return; // Ctrl+Z/Y: Annotorious' undo
  if (key === "?") return toggleGuidance();
  if (key === "Escape") {
    if (!ui.guidance.hidden) return toggleGuidance(false);
    return state.anno && state.anno.cancelSelected();
  }
  if (!ui.guidance.hidden) return;
  if (key === "Enter" || key === "n" || key === "N") {
    event.preventDefault();
    return submit();
  }
  if (key === "0") return submit({ empty: true });
  if (key === "Delete" || key === "Backspace") {
    event.preventDefault();
    return deleteSelected();
  }
  if (key === "+" || key === "=") return view.zoomBy(1.25);
  if (key === "-" || key === "_") return view.zoomBy(1 / 1.25);
  if (key === "f" || key === "F") return view.fit();
  const c = byKey.get(key.toLowerCase());
  if (c) {
    event.preventDefault();
    pressClass(c.id);
  }
}

document.addEventListener("keydown", onKey);
ui.stage.addEventListener("pointerdown", () => state.justDrawn.clear(), true);
document.addEventListener("keyup", (event) => {
  if (event.key === " ") view.setSpace(false);
});

// ---- buttons, time, unload -----------------------------------------------------------------

ui.palette.addEventListener("click", (event) => {
  const chip = event.target.closest(".class-chip");
  if (chip) pressClass(Number(chip.dataset.class));
});
$("submit-next").addEventListener("click", () => submit());
$("submit-empty").addEventListener("click", () => submit({ empty: true }));
$("zoom-in").addEventListener("click", () => view.zoomBy(1.25));
$("zoom-out").addEventListener("click", () => view.zoomBy(1 / 1.25));
$("zoom-fit").addEventListener("click", () => view.fit());
$("show-guidance").addEventListener("click", () => toggleGuidance(true));
$("close-guidance").addEventListener("click", () => toggleGuidance(false));
// Buttons must not keep focus: Enter would then click them instead of reaching the shortcut.
for (const button of document.querySelectorAll(".side button")) {
  button.addEventListener("mouseup", () => button.blur());
}

setInterval(() => {
  if (!state.anno || document.visibilityState !== "visible" || !document.hasFocus()) return;
  state.activeSeconds += 1;
  // Keep the draft alive (and its time recorded) while the labeler works without changes.
  if (state.activeSeconds - state.lastSavedSeconds >= 60 && state.saver) {
    state.lastSavedSeconds = state.activeSeconds;
    state.saver.changed();
  }
}, 1000);

window.addEventListener("beforeunload", () => state.saver && state.saver.saveOnUnload());

selectClass(state.currentClass);
if (config.reopen) {
  api(annotationUrl(config.reopen)).then(({ ok, data }) =>
    ok ? open(data) : showNotice((data && data.detail) || "This annotation cannot be opened."),
  );
} else {
  next();
}
