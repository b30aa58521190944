// What the labeler sees of their boxes besides the rectangles: a tag with the class name on
// each box (so colour is never the only cue) and the list of the image's boxes beside the
// canvas, where a box is selected, given another class or deleted, by mouse or keyboard.

const TAG_HEIGHT = 18; // screen pixels; a tag goes inside its box when there is no room above

// Black or white text, whichever reads better on the class colour (WCAG relative luminance).
export function textColorOn(hex) {
  const channel = (i) => {
    const c = parseInt(hex.slice(i, i + 2), 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  };
  const luminance = 0.2126 * channel(1) + 0.7152 * channel(3) + 0.0722 * channel(5);
  return luminance > 0.179 ? "#000000" : "#ffffff";
}

export class BoxTags {
  // container: Annotorious' wrapper of the image; positions are shares of the image size.
  constructor(container, image) {
    this.image = image; // {naturalWidth, naturalHeight}
    this.layer = document.createElement("div");
    this.layer.className = "box-tags";
    this.layer.setAttribute("aria-hidden", "true"); // the box list says the same to a screen reader
    container.append(this.layer);
  }

  render(items, zoom) {
    // items: [{id, x, y, w, h (natural pixels), name, color, selected}]
    const { naturalWidth: W, naturalHeight: H } = this.image;
    this.layer.replaceChildren(
      ...items.map((item, i) => {
        const tag = document.createElement("span");
        tag.className = "box-tag";
        tag.dataset.id = item.id;
        tag.dataset.selected = item.selected ? "1" : "0";
        tag.textContent = item.name;
        tag.title = `Box ${i + 1}: ${item.name}`;
        tag.style.left = `${(item.x / W) * 100}%`;
        tag.style.top = `${(item.y / H) * 100}%`;
        tag.style.background = item.color;
        tag.style.color = textColorOn(item.color);
        tag.classList.toggle("inside", item.y * zoom < TAG_HEIGHT);
        return tag;
      }),
    );
  }

  destroy() {
    this.layer.remove();
  }
}

export class BoxList {
  // onSelect(id), onClass(id, classId), onDelete(id): what the list's controls do.
  constructor({ list, classes, onSelect, onClass, onDelete }) {
    this.list = list;
    this.classes = classes;
    this.onSelect = onSelect;
    this.onClass = onClass;
    this.onDelete = onDelete;
    this.readOnly = false;
    list.addEventListener("click", (event) => this.click(event));
    list.addEventListener("change", (event) => this.change(event));
    list.addEventListener("keydown", (event) => this.key(event));
  }

  render(items, { readOnly = false } = {}) {
    this.readOnly = readOnly;
    const focused = this.list.contains(document.activeElement) ? document.activeElement : null;
    const keep = focused && { id: focused.closest(".box-row")?.dataset.id, role: focused.dataset.role };
    if (!items.length) {
      const empty = document.createElement("li");
      empty.className = "empty small";
      empty.textContent = readOnly ? "No boxes on this image." : "No boxes yet: drag on the image to draw one.";
      this.list.replaceChildren(empty);
    } else {
      this.list.replaceChildren(...items.map((item, i) => this.row(item, i)));
    }
    if (keep && keep.id) {
      const again = this.list.querySelector(`.box-row[data-id="${keep.id}"] [data-role="${keep.role}"]`);
      if (again) again.focus();
    }
  }

  row(item, i) {
    const li = document.createElement("li");
    li.className = "box-row";
    li.dataset.id = item.id;
    li.setAttribute("aria-selected", item.selected ? "true" : "false");
    li.style.setProperty("--class-color", item.color);

    const pick = document.createElement("button");
    pick.type = "button";
    pick.className = "box-pick";
    pick.dataset.role = "pick";
    pick.title = `Select box ${i + 1} on the image (${Math.round(item.apiWidth)} × ${Math.round(item.apiHeight)} pixels)`;
    pick.innerHTML = '<span class="chip-swatch"></span><span class="box-name"></span>';
    pick.querySelector(".box-name").textContent = `${i + 1}. ${item.name}`;
    pick.disabled = this.readOnly;

    const select = document.createElement("select");
    select.dataset.role = "class";
    select.setAttribute("aria-label", `Class of box ${i + 1}`);
    for (const c of this.classes) {
      const option = document.createElement("option");
      option.value = c.id;
      option.textContent = c.name;
      option.selected = c.id === item.classId;
      select.append(option);
    }
    select.disabled = this.readOnly;

    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "box-delete";
    remove.dataset.role = "delete";
    remove.setAttribute("aria-label", `Delete box ${i + 1} (${item.name})`);
    remove.title = "Delete this box";
    remove.textContent = "×";
    remove.disabled = this.readOnly;

    li.append(pick, select, remove);
    return li;
  }

  idOf(element) {
    const row = element.closest(".box-row");
    return row ? row.dataset.id : null;
  }

  click(event) {
    const button = event.target.closest("button");
    if (!button || this.readOnly) return;
    const id = this.idOf(button);
    if (button.dataset.role === "pick") this.onSelect(id);
    if (button.dataset.role === "delete") this.deleteRow(id);
  }

  change(event) {
    if (event.target.dataset.role !== "class" || this.readOnly) return;
    this.onClass(this.idOf(event.target), Number(event.target.value));
  }

  deleteRow(id) {
    const rows = [...this.list.querySelectorAll(".box-row")];
    const at = rows.findIndex((row) => row.dataset.id === id);
    const neighbour = rows[at + 1] || rows[at - 1];
    this.onDelete(id);
    // Keep the keyboard in the list: focus the next box, as a file manager does.
    const next = neighbour && this.list.querySelector(`.box-row[data-id="${neighbour.dataset.id}"] [data-role="pick"]`);
    if (next) next.focus();
  }

  // Inside the list, keys act on the focused row and never reach the page's shortcuts
  // (Enter must press the focused button, not submit the image).
  key(event) {
    if (this.readOnly) return;
    const target = event.target;
    if (target.tagName === "SELECT") {
      if (event.key === "Escape") target.blur();
      event.stopPropagation();
      return;
    }
    const id = this.idOf(target);
    if (!id) return;
    if (event.key === "Delete" || event.key === "Backspace") {
      event.preventDefault();
      this.deleteRow(id);
    } else if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      const rows = [...this.list.querySelectorAll(".box-row")];
      const at = rows.findIndex((row) => row.dataset.id === id);
      const to = rows[at + (event.key === "ArrowDown" ? 1 : -1)];
      if (to) to.querySelector(`[data-role="${target.dataset.role}"]`).focus();
    } else if (event.key === "Escape") {
      target.blur();
      return; // the page deselects the box too
    } else if (event.key !== "Enter" && event.key !== " ") {
      return; // class keys, zoom and the rest still work while a row has focus
    }
    event.stopPropagation();
  }
}
