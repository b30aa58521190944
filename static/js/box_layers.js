// Drawing every labeler's boxes, the consensus and the lead's final boxes over an image, with a
// list of layers to show or hide: shared by the flag review page and the image browser.
// `data` is what quality.review.image_labels_data returns: {image, classes, labelers,
// consensus, adjudication}.

export const count = (n, one, many) => `${n} ${n === 1 ? one : many}`;

export function classNamer(classes) {
  const byId = new Map(classes.map((c) => [c.id, c]));
  return (id) => (byId.get(id) ? byId.get(id).name : "class tie");
}

export function place(el, b, image) {
  el.style.left = `${(b.x / image.width) * 100}%`;
  el.style.top = `${(b.y / image.height) * 100}%`;
  el.style.width = `${(b.width / image.width) * 100}%`;
  el.style.height = `${(b.height / image.height) * 100}%`;
}

export function boxEl(b, cls, colorValue, tag, title, image) {
  const el = document.createElement("div");
  el.className = `box ${cls}`;
  el.style.setProperty("--c", colorValue);
  el.title = title;
  place(el, b, image);
  const t = document.createElement("span");
  t.className = "tag";
  t.textContent = tag;
  el.append(t);
  return el;
}

// Labelers' boxes (those in `involvedBoxes` highlighted; all of them when it is empty), the
// consensus and the final boxes, each when `visible` says so.
export function drawLabels(layer, data, visible, involvedBoxes = new Set()) {
  const className = classNamer(data.classes);
  const anyInvolved = involvedBoxes.size > 0;
  data.labelers.forEach((l, n) => {
    if (!visible[`l${l.id}`]) return;
    for (const b of l.boxes) {
      const involved = !anyInvolved || involvedBoxes.has(b.id);
      const label = `${l.username}: ${className(b.label_class)}`;
      const el = boxEl(b, `labeler${involved ? " involved" : ""} tag-pos-${n % 4}`, l.color, label, label, data.image);
      if (involved) el.dataset.boxId = b.id;
      layer.append(el);
    }
  });
  if (visible.consensus) {
    for (const b of data.consensus) {
      layer.append(boxEl(b, "consensus", "#111", `consensus: ${className(b.label_class)}`, `consensus: ${className(b.label_class)} (support ${Math.round(b.support * 100)}%)`, data.image));
    }
  }
  if (visible.adjudication && data.adjudication) {
    for (const b of data.adjudication.boxes) {
      layer.append(boxEl(b, "adjudication", "#ffd400", `final: ${className(b.label_class)}`, `final (${data.adjudication.by}): ${className(b.label_class)}`, data.image));
    }
  }
}

export function visibleAll(data) {
  const visible = { consensus: true, adjudication: true };
  data.labelers.forEach((l) => (visible[`l${l.id}`] = true));
  return visible;
}

function layerRow(key, label, swatch, countText, extra, visible, onChange) {
  const li = document.createElement("li");
  li.innerHTML = `<label><input type="checkbox" data-layer="${key}" ${visible[key] ? "checked" : ""}>${swatch}<span class="name"></span></label><span class="count">${countText}</span>${extra}`;
  li.querySelector(".name").textContent = label;
  li.querySelector("input").addEventListener("change", (e) => {
    visible[key] = e.target.checked;
    onChange();
  });
  return li;
}

// The layer list: a checkbox per labeler, the consensus and the final boxes.
export function renderLayers(list, data, visible, onChange) {
  list.replaceChildren();
  data.labelers.forEach((l) => {
    const mark = l.involved ? '<span class="involved-mark">involved</span>' : "";
    list.append(layerRow(`l${l.id}`, l.username, `<span class="line-swatch" style="--c:${l.color}"></span>`, count(l.boxes.length, "box", "boxes"), mark, visible, onChange));
  });
  list.append(layerRow("consensus", "Consensus", '<span class="line-swatch dashed"></span>', count(data.consensus.length, "object", "objects"), "", visible, onChange));
  if (data.adjudication) {
    list.append(layerRow("adjudication", `Final boxes (${data.adjudication.by})`, '<span class="line-swatch" style="--c:#ffd400"></span>', count(data.adjudication.boxes.length, "box", "boxes"), "", visible, onChange));
  }
}
