// The labeling page: take an image from the queue, draw boxes with Annotorious, pick classes by
// hotkey, autosave every change, submit and go on. Keyboard first; see the "Keys" panel.
//
// Coordinates: Annotorious reports geometry in natural image pixels; the API speaks pixels of
// the image as displayed (EXIF orientation applied), whose size the API gives as width/height.
// toApi/fromAnnotorious scale between the two, so they agree even if they ever differ.

import { BoxList, BoxTags } from "./label_boxes.js";
import { api, Saver } from "./label_saver.js";
import { SessionTrail } from "./label_session.js";
import { StageView } from "./label_view.js";

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
  imageName: $("image-name"),
  position: $("image-position"),
  previous: $("previous-image"),
  empty0: $("submit-empty"),
  fitSmall: $("fit-small"),
  crosshair: $("crosshair-toggle"),
  brightness: $("brightness"),
  contrast: $("contrast"),
};
const EMPTY_CONFIRM_MS = 4000; // how long a first 0 waits for the second
const trail = new SessionTrail(config.projectId);

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
  readOnly: false, // a submitted image past its grace period: shown, not changed
  tags: null,
  emptyArmed: null, // the timer of a first 0 press waiting for its confirmation
  // Annotorious selects a box it has just drawn (and again on the pointerup of a quick drag).
  // Those selections are undone at once, so the next drag draws again and a class key sets the
  // class of the next box; the set empties at the next pointer press.
  justDrawn: new Set(),
};

const view = new StageView({
  stage: ui.stage,
  inner: ui.inner,
  crosshair: $("crosshair"),
  onChange: (zoom) => {
    ui.zoomLevel.textContent = `${Math.round(zoom * 100)}%`;
    ui.zoomLevel.title = "Screen pixels per image pixel";
    ui.stage.dataset.zoom = zoom;
    renderBoxes();
  },
});

const boxList = new BoxList({
  list: $("box-list"),
  classes: config.classes,
  onSelect: (id) => {
    if (!state.anno) return;
    state.justDrawn.clear();
    state.anno.setSelected(id, true);
  },
  onClass: (id, classId) => {
    const annotation = state.anno && state.anno.getAnnotationById(id);
    if (annotation) state.anno.updateAnnotation(withClass(annotation, classId));
  },
  onDelete: (id) => state.anno && state.anno.removeAnnotation(id),
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

// The tags on the boxes and the list beside the canvas, from Annotorious' store.
function renderBoxes() {
  if (!state.anno || !state.tags) return;
  const selected = new Set(state.anno.getSelected().map((a) => a.id));
  const items = state.anno.getAnnotations().map((annotation) => {
    const { x, y, w, h } = annotation.target.selector.geometry;
    const c = classOf(annotation) || classes.get(state.currentClass);
    const api = toApi(annotation);
    return {
      id: annotation.id,
      x,
      y,
      w,
      h,
      apiWidth: api.width,
      apiHeight: api.height,
      classId: c ? c.id : null,
      name: c ? c.name : "no class",
      color: c ? c.color : "#888888",
      selected: selected.has(annotation.id),
    };
  });
  state.tags.render(items, view.zoom);
  boxList.render(items, { readOnly: state.readOnly });
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

function timeOf(iso) {
  return new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

async function open(annotation) {
  // annotation: {id, status, image, boxes, active_seconds, editable, editable_until}
  teardown();
  disarmEmpty();
  state.annotationId = annotation.id;
  state.image = annotation.image;
  state.status = annotation.status;
  state.readOnly = annotation.editable === false;
  state.activeSeconds = annotation.active_seconds || 0;
  state.lastSavedSeconds = state.activeSeconds;
  ui.empty.hidden = true;
  showStatus("idle", "Loading image…");
  const img = await loadImage(annotation.image.url);
  ui.inner.replaceChildren(img);
  state.img = img;
  const anno = Annotorious.createImageAnnotator(img, {
    drawingEnabled: !state.readOnly,
    drawingMode: "drag",
    userSelectAction: state.readOnly ? "NONE" : "EDIT",
    style: boxStyle,
  });
  state.anno = anno;
  state.tags = new BoxTags(anno.element, img);
  view.attach(img);
  view.setAdjust(adjustment());
  anno.setAnnotations(annotation.boxes.map(fromApi), true);
  anno.state.store.observe(onStoreChange, { origin: "LOCAL" });
  anno.state.store.observe(renderBoxes);
  anno.state.selection.subscribe((selection) => {
    const ids = (selection.selected || []).map((s) => s.id);
    if (ids.length && ids.every((id) => state.justDrawn.has(id))) anno.cancelSelected();
    renderBoxes();
  });
  if (!state.readOnly) {
    state.saver = new Saver({
      url: annotationUrl(annotation.id),
      collect: () => ({ boxes: boxes(), active_seconds: Math.round(state.activeSeconds) }),
      show: showStatus,
      onRefused: (message) => showNotice(message),
    });
  }
  updateCount();
  renderBoxes();
  const resumed = annotation.boxes.length ? ` (${annotation.boxes.length} restored)` : "";
  if (state.readOnly) {
    showStatus("idle", "Submitted — view only");
    showNotice(
      `You submitted this image more than ${config.graceMinutes} minutes ago, so it can no longer be changed. Press Enter to go on labeling.`,
      "info",
    );
  } else if (annotation.status === "submitted") {
    showStatus("saved", `Submitted — editing until ${timeOf(annotation.editable_until)}${resumed}`);
  } else {
    showStatus("saved", `Saved${resumed}`);
  }
  trail.visit(annotation.id);
  showPlace(annotation);
  document.title = `${annotation.image.name || `Image ${annotation.image.id}`} · Label`;
  ui.stage.dataset.annotation = annotation.id;
  ui.stage.dataset.image = annotation.image.id;
  ui.stage.dataset.width = annotation.image.width;
  ui.stage.dataset.height = annotation.image.height;
  ui.stage.dataset.readonly = state.readOnly ? "1" : "0";
  ui.stage.dataset.ready = "1";
}

function teardown() {
  ui.stage.dataset.ready = "0";
  if (state.tags) {
    state.tags.destroy();
    state.tags = null;
  }
  if (state.anno) {
    state.anno.destroy();
    state.anno = null;
  }
  view.detach();
  state.saver = null;
  state.img = null;
}

function annotationUrl(id) {
  return config.annotationUrl.replace(/0\/$/, `${id}/`);
}

// After a submit, when the project gives feedback on gold images: the gold's feedback page if
// this image was one with feedback due; nothing (a 404) for any other image.
async function showFeedback(annotationId) {
  const { ok, data } = await api(config.feedbackUrl.replace(/0\/feedback\/$/, `${annotationId}/feedback/`));
  if (!ok || !data || !data.page) return false;
  window.location.href = data.page;
  return true;
}

function submitUrl(id) {
  return config.submitUrl.replace(/0\/submit\/$/, `${id}/submit/`);
}

// ---- where am I ----------------------------------------------------------------------------

function showPlace(annotation) {
  ui.imageName.textContent = annotation.image.name || `Image ${annotation.image.id}`;
  ui.imageName.title = ui.imageName.textContent;
  ui.position.textContent = trail.describe(annotation.id);
  ui.previous.disabled = trail.previous(annotation.id) === null;
  // How many images are left for this labeler: an estimate, asked after the image is shown.
  api(config.queueStatusUrl).then(({ ok, data }) => {
    if (!ok || !data || state.annotationId !== annotation.id) return;
    trail.setRemaining(data.remaining, data.capped);
    ui.position.textContent = trail.describe(annotation.id);
  });
}

async function openPrevious() {
  if (!state.anno || state.busy) return;
  const previousId = trail.previous(state.annotationId);
  if (previousId === null) {
    showNotice("This is the first image of this session.", "info");
    return;
  }
  state.busy = true;
  try {
    if (state.saver && !(await state.saver.flush())) {
      showNotice(`Your boxes here are not saved yet (${state.saver.lastMessage || "retrying"}); try again in a moment.`);
      return;
    }
    const { ok, data } = await api(annotationUrl(previousId));
    if (!ok) {
      showNotice((data && data.detail) || "The previous image cannot be opened.");
      return;
    }
    hideNotice();
    await open(data);
  } finally {
    state.busy = false;
  }
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
    if (status === 403 && data && data.code === "labeler_paused") return paused(data.detail);
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

// The gold checks paused this labeler: say so in place of the image, with the way back to the
// instructions; nothing to retry until the lead resumes them.
function paused(detail) {
  teardown();
  ui.inner.replaceChildren();
  ui.empty.hidden = false;
  ui.empty.replaceChildren();
  const title = document.createElement("h2");
  title.textContent = "Your labeling is paused";
  const text = document.createElement("p");
  text.textContent = detail;
  const link = document.createElement("a");
  link.href = config.projectUrl;
  link.className = "button";
  link.textContent = "Read the instructions";
  ui.empty.append(title, text, link);
  showStatus("idle", "Paused");
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
  $("box-list").replaceChildren();
  ui.position.textContent = `${trail.ids.length} image${trail.ids.length === 1 ? "" : "s"} in this session`;
  ui.imageName.textContent = "";
  for (const id of ["submit-next", "submit-empty"]) $(id).disabled = true;
  ui.previous.disabled = !trail.ids.length;
}

async function submit({ empty = false } = {}) {
  if (state.busy) return;
  if (!state.anno) {
    // After the last image, Previous may be the way back to the one just submitted.
    return;
  }
  if (state.readOnly) return next();
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
      showStatus(state.saver.refused || state.saver.stopped ? "refused" : "failed", "Not submitted");
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
    if (config.feedbackUrl && (await showFeedback(state.annotationId))) return;
    await next();
  } finally {
    state.busy = false;
  }
}

// `0` submits the image as having nothing to label, but only on a second press (or click)
// within a few seconds: a stray 0 must not send an image off empty.
function pressEmpty() {
  if (!state.anno || state.readOnly) return;
  const count = state.anno.getAnnotations().length;
  if (count) return submit({ empty: true }); // explains why not
  if (state.emptyArmed) {
    disarmEmpty();
    return submit({ empty: true });
  }
  state.emptyArmed = setTimeout(disarmEmpty, EMPTY_CONFIRM_MS);
  ui.empty0.dataset.armed = "1";
  ui.empty0.querySelector(".label").textContent = "Press 0 again to confirm";
  showNotice("Nothing to label on this image? Press 0 again to submit it empty (Esc cancels).", "confirm");
}

function disarmEmpty() {
  if (!state.emptyArmed) return;
  clearTimeout(state.emptyArmed);
  state.emptyArmed = null;
  ui.empty0.dataset.armed = "0";
  ui.empty0.querySelector(".label").textContent = "Nothing to label here";
  if (ui.notice.dataset.kind === "confirm") hideNotice();
}

function deleteSelected() {
  if (!state.anno) return;
  const selected = state.anno.getSelected();
  for (const annotation of selected) state.anno.removeAnnotation(annotation.id);
  state.anno.cancelSelected();
}

// ---- display -------------------------------------------------------------------------------

const PREFS = "concord.labeling.display";

function loadPrefs() {
  try {
    return JSON.parse(localStorage.getItem(PREFS)) || {};
  } catch {
    return {};
  }
}

function savePrefs() {
  const prefs = { fitSmall: ui.fitSmall.checked, crosshair: ui.crosshair.checked };
  try {
    localStorage.setItem(PREFS, JSON.stringify(prefs));
  } catch {
    // not kept across visits; nothing else depends on it
  }
}

function adjustment() {
  return { brightness: Number(ui.brightness.value), contrast: Number(ui.contrast.value) };
}

function showAdjustment() {
  const { brightness, contrast } = adjustment();
  $("brightness-value").textContent = `${brightness}%`;
  $("contrast-value").textContent = `${contrast}%`;
  view.setAdjust({ brightness, contrast });
}

function toggleCrosshair(on = !ui.crosshair.checked) {
  ui.crosshair.checked = on;
  view.setCrosshair(on);
  savePrefs();
}

// ---- keyboard ------------------------------------------------------------------------------

function toggleGuidance(show = ui.guidance.hidden) {
  ui.guidance.hidden = !show;
}

const PAN_STEP = 80; // pixels per arrow key press

const SLIDER_KEYS = new Set(["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp", "PageDown"]);

// Whether a key belongs to the focused control rather than to the page's shortcuts: all keys
// of text fields and menus; a slider's arrows; a checkbox's Space.
function keyForControl(target, key) {
  if (!target.closest) return false;
  if (target.closest("textarea, select, input:not([type=range]):not([type=checkbox])")) return true;
  if (target.type === "range") return SLIDER_KEYS.has(key);
  if (target.type === "checkbox") return key === " ";
  return false;
}

function onKey(event) {
  const key = event.key;
  if (keyForControl(event.target, key)) return;
  if (key === " ") {
    view.setSpace(true);
    event.preventDefault();
    return;
  }
  if (event.ctrlKey || event.metaKey || event.altKey) return; // Ctrl+Z/Y: Annotorious' undo
  if (key === "?") return toggleGuidance();
  if (key === "Escape") {
    if (!ui.guidance.hidden) return toggleGuidance(false);
    disarmEmpty();
    return state.anno && state.anno.cancelSelected();
  }
  if (!ui.guidance.hidden) return;
  if (key !== "0") disarmEmpty();
  if (key === "Enter" || key === "n" || key === "N") {
    event.preventDefault();
    return submit();
  }
  if (key === "0") return pressEmpty();
  if (key === "p" || key === "P") return openPrevious();
  if (key === "Delete" || key === "Backspace") {
    event.preventDefault();
    return deleteSelected();
  }
  if (key === "+" || key === "=") return view.zoomBy(1.25);
  if (key === "-" || key === "_") return view.zoomBy(1 / 1.25);
  if (key === "f" || key === "F") return view.showWhole();
  if (key === "x" || key === "X") return toggleCrosshair();
  const arrows = { ArrowLeft: [1, 0], ArrowRight: [-1, 0], ArrowUp: [0, 1], ArrowDown: [0, -1] };
  if (arrows[key] && !(state.anno && state.anno.getSelected().length)) {
    event.preventDefault();
    return view.panBy(arrows[key][0] * PAN_STEP, arrows[key][1] * PAN_STEP);
  }
  const c = byKey.get(key.toLowerCase());
  if (c && !state.readOnly) {
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
  if (chip && !state.readOnly) pressClass(Number(chip.dataset.class));
});
$("submit-next").addEventListener("click", () => submit());
ui.empty0.addEventListener("click", () => pressEmpty());
ui.previous.addEventListener("click", () => openPrevious());
$("zoom-in").addEventListener("click", () => view.zoomBy(1.25));
$("zoom-out").addEventListener("click", () => view.zoomBy(1 / 1.25));
$("zoom-fit").addEventListener("click", () => view.showWhole());
ui.fitSmall.addEventListener("change", () => {
  view.setFitSmall(ui.fitSmall.checked);
  savePrefs();
});
ui.crosshair.addEventListener("change", () => toggleCrosshair(ui.crosshair.checked));
ui.brightness.addEventListener("input", showAdjustment);
ui.contrast.addEventListener("input", showAdjustment);
$("adjust-reset").addEventListener("click", () => {
  ui.brightness.value = 100;
  ui.contrast.value = 100;
  showAdjustment();
});
$("show-guidance").addEventListener("click", () => toggleGuidance(true));
$("close-guidance").addEventListener("click", () => toggleGuidance(false));
// Buttons and sliders must not keep focus after a click: Enter would then press them instead of
// reaching the shortcut, and digits would move a slider instead of choosing a class.
for (const control of document.querySelectorAll(".side-actions button, .place button, .view-controls button, .view-controls input, .palette button")) {
  control.addEventListener("mouseup", () => setTimeout(() => control.blur(), 0));
}

setInterval(() => {
  if (!state.saver || document.visibilityState !== "visible" || !document.hasFocus()) return;
  state.activeSeconds += 1;
  // Keep the draft alive (and its time recorded) while the labeler works without changes.
  if (state.activeSeconds - state.lastSavedSeconds >= 60) {
    state.lastSavedSeconds = state.activeSeconds;
    state.saver.changed();
  }
}, 1000);

window.addEventListener("beforeunload", () => state.saver && state.saver.saveOnUnload());

function start() {
  if (config.reopen) {
    api(annotationUrl(config.reopen)).then(({ ok, data }) =>
      ok ? open(data) : showNotice((data && data.detail) || "This annotation cannot be opened."),
    );
  } else {
    next();
  }
}

const prefs = loadPrefs();
ui.fitSmall.checked = Boolean(prefs.fitSmall);
view.setFitSmall(ui.fitSmall.checked);
toggleCrosshair(Boolean(prefs.crosshair));
selectClass(state.currentClass);
// On a phone the page says it needs a larger screen (CSS) and takes no image from the queue,
// which would hold a slot of it for nobody; it starts once the window is wide enough.
const phone = window.matchMedia("(max-width: 699px)");
if (phone.matches) {
  phone.addEventListener("change", function wide() {
    if (phone.matches) return;
    phone.removeEventListener("change", wide);
    start();
  });
} else {
  start();
}
