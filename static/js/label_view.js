// Zoom and pan of the image being labeled. The image is resized (not CSS-transformed) inside a
// scrolling stage, so Annotorious keeps mapping pointer positions to image pixels by itself:
// the wheel scrolls, Ctrl+wheel zooms at the pointer, Space+drag pans, +/-/F zoom and fit.

const MIN_FACTOR = 0.25;
const MAX_FACTOR = 16;

export class StageView {
  constructor({ stage, inner, onZoom }) {
    this.stage = stage;
    this.inner = inner;
    this.onZoom = onZoom;
    this.img = null;
    this.zoom = 1; // screen pixels per natural image pixel
    this.spaceHeld = false;
    this.panning = null;
    stage.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
    // Capture phase: a Space+drag pan never reaches the drawing layer underneath.
    stage.addEventListener("pointerdown", (event) => this.panStart(event), true);
    window.addEventListener("pointermove", (event) => this.panMove(event));
    window.addEventListener("pointerup", () => this.panEnd());
    window.addEventListener("resize", () => this.img && this.fitIfFitted());
  }

  attach(img) {
    this.img = img;
    this.fit();
  }

  fitZoom() {
    const { naturalWidth: w, naturalHeight: h } = this.img;
    const padding = 16;
    return Math.min(
      (this.stage.clientWidth - padding) / w,
      (this.stage.clientHeight - padding) / h,
    );
  }

  fit() {
    this.fitted = true;
    this.set(this.fitZoom());
  }

  fitIfFitted() {
    if (this.fitted) this.fit();
  }

  set(zoom, anchor) {
    const fit = this.fitZoom();
    const clamped = Math.min(Math.max(zoom, fit * MIN_FACTOR), Math.max(fit, 1) * MAX_FACTOR);
    const before = this.zoom;
    // Keep the image point under the anchor (pointer or stage centre) where it is.
    const rect = this.stage.getBoundingClientRect();
    const ax = anchor ? anchor.x - rect.left : this.stage.clientWidth / 2;
    const ay = anchor ? anchor.y - rect.top : this.stage.clientHeight / 2;
    const px = (this.stage.scrollLeft + ax) / before;
    const py = (this.stage.scrollTop + ay) / before;
    this.zoom = clamped;
    this.img.style.width = `${Math.round(this.img.naturalWidth * clamped)}px`;
    this.img.style.height = `${Math.round(this.img.naturalHeight * clamped)}px`;
    this.stage.scrollLeft = px * clamped - ax;
    this.stage.scrollTop = py * clamped - ay;
    this.onZoom(clamped);
  }

  zoomBy(factor, anchor) {
    if (!this.img) return;
    this.fitted = false;
    this.set(this.zoom * factor, anchor);
  }

  wheel(event) {
    if (!this.img || !(event.ctrlKey || event.metaKey)) return; // plain wheel scrolls
    event.preventDefault();
    this.zoomBy(event.deltaY < 0 ? 1.15 : 1 / 1.15, { x: event.clientX, y: event.clientY });
  }

  panStart(event) {
    if (!this.spaceHeld && event.button !== 1) return;
    event.preventDefault();
    event.stopPropagation();
    this.panning = {
      x: event.clientX,
      y: event.clientY,
      left: this.stage.scrollLeft,
      top: this.stage.scrollTop,
    };
    this.stage.classList.add("panning");
  }

  panMove(event) {
    if (!this.panning) return;
    this.stage.scrollLeft = this.panning.left - (event.clientX - this.panning.x);
    this.stage.scrollTop = this.panning.top - (event.clientY - this.panning.y);
  }

  panEnd() {
    this.panning = null;
    this.stage.classList.remove("panning");
  }

  setSpace(held) {
    this.spaceHeld = held;
    this.stage.classList.toggle("pan-ready", held);
  }
}
