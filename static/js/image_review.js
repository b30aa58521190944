// The image review screen: all of one image's flags over the image. Choosing a flag (j/k or a
// click) highlights the boxes it is about; decisions settle all the image's open flags (c,
// 1-9, Shift+d) or the chosen one (d). See templates/quality/_queue_keys.html for the keys.
import { count, drawLabels, renderLayers, visibleAll } from "./box_layers.js";
import { go, ignoredKey, isTyping, setUpHelp } from "./queue_keys.js";

const data = JSON.parse(document.getElementById("review-data").textContent);
const layer = document.getElementById("layer");
const stage = document.getElementById("stage");
const items = [...document.querySelectorAll("#image-flags .image-flag")];
const visible = visibleAll(data);
const openHelp = setUpHelp();
const flagsById = new Map(data.flags.map((f) => [f.id, f]));
let chosen = items.findIndex((li) => !li.classList.contains("settled"));

function involvedBoxes() {
  const item = items[chosen];
  const flags = item ? [flagsById.get(Number(item.dataset.flag))] : data.flags.filter((f) => f.status === "open");
  return new Set(flags.flatMap((f) => (f ? f.box_ids : [])));
}

function render() {
  layer.replaceChildren();
  drawLabels(layer, data, visible, involvedBoxes());
  items.forEach((li, i) => li.classList.toggle("chosen", i === chosen));
}

function choose(index, focus = true) {
  if (!items.length) return;
  chosen = Math.max(0, Math.min(items.length - 1, index));
  render();
  if (focus) items[chosen].focus();
}

items.forEach((li, i) => {
  li.addEventListener("click", (event) => {
    if (event.target.closest("a, button")) return;
    choose(i);
  });
  li.addEventListener("focus", () => {
    if (chosen !== i) choose(i, false);
  });
});

// Decisions.
const imageForm = document.getElementById("image-form");
const dismissBox = document.getElementById("dismiss-box");
const people = data.labelers.filter((l) => !l.model);

function decideImage(resolution, labeler = "") {
  if (!imageForm) return;
  imageForm.querySelector("#image-resolution").value = resolution;
  imageForm.querySelector("#image-labeler").value = labeler;
  imageForm.submit();
}

function openDismiss(target) {
  if (!dismissBox) return;
  const item = items.find((li) => li.dataset.flag === String(target));
  if (target !== "all" && (!item || item.classList.contains("settled"))) return;
  document.getElementById("dismiss-target").value = target;
  document.getElementById("dismiss-label").textContent =
    target === "all" ? "Why dismiss all the open flags of this image? Labelers read this." : `Why dismiss flag #${target}? Labelers read this.`;
  document.getElementById("btn-dismiss-confirm").textContent = target === "all" ? "Dismiss all" : `Dismiss flag #${target}`;
  dismissBox.hidden = false;
  dismissBox.scrollIntoView({ block: "nearest" });
  document.getElementById("dismiss-note").focus();
}

function closeDismiss() {
  if (dismissBox) dismissBox.hidden = true;
}

if (imageForm) {
  document.getElementById("btn-image-consensus").addEventListener("click", () => decideImage("accept_consensus"));
  document.getElementById("btn-image-dismiss").addEventListener("click", () => openDismiss("all"));
  const holder = document.getElementById("image-accept-labelers");
  people.forEach((l, i) => {
    const b = document.createElement("button");
    b.type = "button";
    b.dataset.labeler = l.id;
    b.style.setProperty("--c", l.color);
    b.innerHTML = `<kbd>${i + 1}</kbd> Accept <strong></strong>'s version <span class="muted small">(${count(l.boxes.length, "box", "boxes")})</span>`;
    b.querySelector("strong").textContent = l.username;
    b.addEventListener("click", () => decideImage("accept_labeler", l.id));
    holder.append(b);
  });
}
document.querySelectorAll("[data-dismiss-one]").forEach((b) => b.addEventListener("click", () => openDismiss(b.dataset.dismissOne)));
document.getElementById("btn-dismiss-cancel")?.addEventListener("click", closeDismiss);

document.addEventListener("keydown", (event) => {
  if (ignoredKey(event)) return;
  if (isTyping(event)) {
    if (event.key === "Escape") {
      event.target.blur();
      closeDismiss();
    }
    return;
  }
  const key = event.key;
  if (key === "?") openHelp();
  else if (key === "j") choose(chosen + 1);
  else if (key === "k") choose(chosen - 1);
  else if (key === "n") go("next-image");
  else if (key === "p") go("prev-image");
  else if (key === "q") go("to-queue");
  else if (key === "o" && items[chosen]) items[chosen].querySelector("a")?.click();
  else if (key === "Escape") closeDismiss();
  else if (!imageForm) return;
  else if (key === "c") decideImage("accept_consensus");
  else if (key === "D") {
    event.preventDefault();
    openDismiss("all");
  } else if (key === "d" && items[chosen]) {
    event.preventDefault();
    openDismiss(items[chosen].dataset.flag);
  } else if (/^[1-9]$/.test(key) && people[Number(key) - 1]) decideImage("accept_labeler", people[Number(key) - 1].id);
});

renderLayers(document.getElementById("layers"), data, visible, render);
render();
stage.dataset.ready = "1";
