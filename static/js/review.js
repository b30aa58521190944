// The review page: every labeler's boxes over the image, layer toggles, keyboard-driven
// decisions, and a small editor for the lead's final boxes (adjudication).
import { boxEl as drawnBox, classNamer, count, drawLabels, place as placeIn, renderLayers as layersIn, visibleAll } from "./box_layers.js";

const data = JSON.parse(document.getElementById("review-data").textContent);
const layer = document.getElementById("layer");
const stage = document.getElementById("stage");
const form = document.getElementById("resolve-form");
const W = data.image.width;
const H = data.image.height;
const involvedBoxes = new Set(data.flag.box_ids);
const classes = new Map(data.classes.map((c) => [c.id, c]));
const className = classNamer(data.classes);

const visible = visibleAll(data);
let editing = null; // {boxes: [...], selected: index, classId}

const place = (el, b) => placeIn(el, b, data.image);
const boxEl = (b, cls, colorValue, tag, title) => drawnBox(b, cls, colorValue, tag, title, data.image);

function render() {
  layer.replaceChildren();
  if (editing) {
    editing.boxes.forEach((b, i) => {
      const c = classes.get(b.label_class);
      const el = boxEl(b, `edit${i === editing.selected ? " selected" : ""}`, c ? c.color : "#888", `${i + 1} ${className(b.label_class)}`, "");
      el.dataset.index = i;
      layer.append(el);
    });
    renderEditList();
    return;
  }
  drawLabels(layer, data, visible, involvedBoxes);
}

function renderInvolved() {
  const list = document.getElementById("involved");
  if (!list) return;
  for (const l of data.labelers) {
    const mine = l.boxes.filter((b) => involvedBoxes.has(b.id));
    if (!l.involved && !mine.length) continue;
    const li = document.createElement("li");
    li.style.setProperty("--c", l.color);
    const what = mine.length ? mine.map((b) => `${className(b.label_class)} (${Math.round(b.width)}×${Math.round(b.height)} px)`).join(", ") : "no box here";
    li.innerHTML = '<span class="line-swatch"></span> <strong></strong>: <span></span>';
    li.querySelector("strong").textContent = l.username;
    li.querySelector("span:last-child").textContent = what;
    list.append(li);
  }
}

function renderLayers() {
  layersIn(document.getElementById("layers"), data, visible, render);
}

// Decisions.

function submit(resolution, fields = {}) {
  form.querySelector("#f-resolution").value = resolution;
  if (fields.labeler) form.querySelector("#f-labeler").value = fields.labeler;
  if (fields.boxes) form.querySelector("#f-boxes").value = JSON.stringify(fields.boxes);
  form.submit();
}

// A model's predictions are shown as a layer, never offered as a version to accept.
const people = data.labelers.filter((l) => !l.model);

function acceptLabeler(index) {
  const l = people[index];
  if (l) submit("accept_labeler", { labeler: l.id });
}

function openDismiss() {
  const box = document.getElementById("dismiss-box");
  box.hidden = false;
  document.getElementById("f-note").focus();
}

function renderAcceptButtons() {
  const holder = document.getElementById("accept-labelers");
  if (!holder) return;
  people.forEach((l, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.labeler = l.id;
    b.style.setProperty("--c", l.color);
    b.innerHTML = `<kbd>${i + 1}</kbd> Accept <strong></strong>'s version <span class="muted small">(${count(l.boxes.length, "box", "boxes")})</span>`;
    b.querySelector("strong").textContent = l.username;
    b.addEventListener("click", () => acceptLabeler(i));
    holder.append(b);
  });
}

// Adjudication editor.

function startEditing() {
  const start = data.adjudication ? data.adjudication.boxes : data.consensus;
  editing = {
    boxes: start.map((b) => ({ x: b.x, y: b.y, width: b.width, height: b.height, label_class: b.label_class })),
    selected: -1,
    classId: data.classes.length ? data.classes[0].id : null,
  };
  stage.classList.add("editing");
  document.getElementById("editor-panel").hidden = false;
  document.getElementById("action-panel").hidden = true;
  renderClassPicker();
  render();
}

function stopEditing() {
  editing = null;
  stage.classList.remove("editing");
  document.getElementById("editor-panel").hidden = true;
  document.getElementById("action-panel").hidden = false;
  render();
}

function saveEditing() {
  const untyped = editing.boxes.findIndex((b) => !classes.has(b.label_class));
  if (untyped >= 0) {
    editing.selected = untyped;
    render();
    alert(`Box ${untyped + 1} has no class yet (the labelers tied): pick one before saving.`);
    return;
  }
  submit("adjudicated", { boxes: editing.boxes });
}

function renderClassPicker() {
  const picker = document.getElementById("class-picker");
  picker.replaceChildren();
  for (const c of data.classes) {
    const b = document.createElement("button");
    b.type = "button";
    b.style.setProperty("--c", c.color);
    b.className = c.id === editing.classId ? "active" : "";
    b.innerHTML = `${c.hotkey ? `<kbd>${c.hotkey}</kbd> ` : ""}<span></span>`;
    b.querySelector("span").textContent = c.name;
    b.addEventListener("click", () => pickClass(c.id));
    picker.append(b);
  }
}

function pickClass(id) {
  editing.classId = id;
  if (editing.selected >= 0) editing.boxes[editing.selected].label_class = id;
  renderClassPicker();
  render();
}

function renderEditList() {
  const list = document.getElementById("edit-list");
  list.replaceChildren();
  editing.boxes.forEach((b, i) => {
    const li = document.createElement("li");
    li.className = i === editing.selected ? "selected" : "";
    const select = document.createElement("select");
    select.innerHTML = `<option value="">(pick a class)</option>` + data.classes.map((c) => `<option value="${c.id}">${c.name.replace(/</g, "&lt;")}</option>`).join("");
    select.value = classes.has(b.label_class) ? String(b.label_class) : "";
    select.addEventListener("change", () => {
      b.label_class = Number(select.value) || null;
      render();
    });
    const del = document.createElement("button");
    del.type = "button";
    del.className = "x";
    del.textContent = "✕";
    del.title = "Delete this box";
    del.addEventListener("click", () => {
      editing.boxes.splice(i, 1);
      editing.selected = -1;
      render();
    });
    li.append(`${i + 1}.`, select, del);
    li.addEventListener("click", (e) => {
      if (e.target === li) {
        editing.selected = i;
        render();
      }
    });
    list.append(li);
  });
  if (!editing.boxes.length) list.innerHTML = '<li class="muted">No boxes: saving says the image has no objects.</li>';
}

function imagePoint(event) {
  const r = layer.getBoundingClientRect();
  return {
    x: Math.min(W, Math.max(0, ((event.clientX - r.left) / r.width) * W)),
    y: Math.min(H, Math.max(0, ((event.clientY - r.top) / r.height) * H)),
  };
}

layer.addEventListener("mousedown", (event) => {
  if (!editing || event.button !== 0) return;
  const hit = event.target.closest(".box.edit");
  if (hit) {
    editing.selected = Number(hit.dataset.index);
    render();
    return;
  }
  event.preventDefault();
  const start = imagePoint(event);
  const ghost = boxEl({ x: start.x, y: start.y, width: 0, height: 0 }, "drawing", "#fff", "", "");
  layer.append(ghost);
  const rect = (p) => ({
    x: Math.min(start.x, p.x),
    y: Math.min(start.y, p.y),
    width: Math.abs(p.x - start.x),
    height: Math.abs(p.y - start.y),
  });
  const move = (e) => place(ghost, rect(imagePoint(e)));
  const up = (e) => {
    window.removeEventListener("mousemove", move);
    window.removeEventListener("mouseup", up);
    const b = rect(imagePoint(e));
    if (b.width >= 3 && b.height >= 3) {
      editing.boxes.push({ ...b, label_class: editing.classId });
      editing.selected = editing.boxes.length - 1;
    }
    render();
  };
  window.addEventListener("mousemove", move);
  window.addEventListener("mouseup", up);
});

// Keyboard.

const go = (id) => {
  const link = document.getElementById(id);
  if (link) window.location.href = link.href;
};

document.addEventListener("keydown", (event) => {
  if (event.ctrlKey || event.metaKey || event.altKey) return;
  const typing = event.target.matches?.(
    "textarea, select, input:not([type=checkbox]):not([type=radio])",
  );
  if (editing) {
    if (event.key === "Escape") stopEditing();
    else if (typing) return;
    else if (event.key === "Enter") saveEditing();
    else if ((event.key === "Delete" || event.key === "Backspace") && editing.selected >= 0) {
      editing.boxes.splice(editing.selected, 1);
      editing.selected = -1;
      render();
    } else {
      const c = data.classes.find((k) => k.hotkey && k.hotkey === event.key.toLowerCase());
      if (c) pickClass(c.id);
    }
    return;
  }
  if (typing) {
    if (event.key === "Escape") event.target.blur();
    return;
  }
  const key = event.key.toLowerCase();
  if (key === "j") go("next-flag");
  else if (key === "k") go("prev-flag");
  else if (key === "g") go("image-flags-link");
  if (!form) return;
  if (key === "c") submit("accept_consensus");
  else if (key === "a") startEditing();
  else if (key === "d") {
    event.preventDefault();
    openDismiss();
  } else if (key === "i") go("btn-instructions");
  else if (/^[1-9]$/.test(key)) acceptLabeler(Number(key) - 1);
  else return;
});

if (form) {
  document.getElementById("btn-consensus").addEventListener("click", () => submit("accept_consensus"));
  document.getElementById("btn-adjudicate").addEventListener("click", startEditing);
  document.getElementById("btn-dismiss").addEventListener("click", openDismiss);
  document.getElementById("btn-dismiss-confirm").addEventListener("click", (event) => {
    event.preventDefault();
    if (!document.getElementById("f-note").value.trim()) {
      document.getElementById("f-note").focus();
      document.getElementById("f-note").placeholder = "A reason is needed: the labelers will read it.";
      return;
    }
    submit("dismissed");
  });
  document.getElementById("btn-save-adjudication").addEventListener("click", saveEditing);
  document.getElementById("btn-cancel-adjudication").addEventListener("click", stopEditing);
  renderAcceptButtons();
}
renderLayers();
renderInvolved();
render();
stage.dataset.ready = "1";
