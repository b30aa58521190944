// Zoom, pan and display of the image being labeled. The image is resized (never CSS-scaled)
// and moved inside a clipping stage, so Annotorious keeps mapping pointer positions to image
// pixels by itself. As in CVAT and Label Studio: the wheel zooms at the pointer (the image point
// under it stays put), Space+drag and middle-drag pan, +/- zoom at the centre, F shows the whole
// image again. An image smaller than the stage is shown at 100% (not enlarged into blur) unless
// "fit small images" is on; brightness/contrast filter the pixels only, never the boxes.

const MIN_FACTOR = 0.25; // of the whole-image zoom
const MAX_FACTOR = 16; // of 100% (or of the whole-image zoom, if larger)
const PADDING = 16;
const KEEP_VISIBLE = 48; // pixels of the image that panning always leaves on screen
const WHEEL_STEP = 1.2; // zoom factor per wheel notch (100 px of deltaY)

export class StageView {
  constructor({ stage, inner, crosshair, onChange }) {
    this.stage = stage;
    this.inner = inner;
    this.crosshair = crosshair;
    this.onChange = onChange;
    this.img = null;
    this.zoom = 1; // screen pixels per natural image pixel
    this.x = 0; // where the image's top-left corner is, in stage pixels
    this.y = 0;
    this.whole = true; // showing the default whole-image view (kept on window resize)
    this.fitSmall = false;
    this.spaceHeld = false;
    this.panning = null;
    stage.addEventListener("wheel", (event) => this.wheel(event), { passive: false });
    // Capture phase: a Space+drag or middle-drag pan never reaches the drawing layer underneath.
    stage.addEventListener("pointerdown", (event) => this.panStart(event), true);
    stage.addEventListener("mousedown", (event) => event.button === 1 && event.preventDefault());
    stage.addEventListener("pointermove", (event) => this.crosshairMove(event));
    stage.addEventListener("pointerleave", () => this.crosshairHide());
    window.addEventListener("pointermove", (event) => this.panMove(event));
    window.addEventListener("pointerup", () => this.panEnd());
    window.addEventListener("resize", () => this.img && (this.whole ? this.showWhole() : this.apply()));
  }

  attach(img) {
    this.img = img;
    this.showWhole();
  }

  detach() {
    this.img = null;
  }

  fitZoom() {
    const { naturalWidth: w, naturalHeight: h } = this.img;
    return Math.max(
      0.01,
      Math.min((this.stage.clientWidth - PADDING) / w, (this.stage.clientHeight - PADDING) / h),
    );
  }

  wholeZoom() {
    const fit = this.fitZoom();
    return this.fitSmall ? fit : Math.min(fit, 1);
  }

  // The whole image, centred: shrunk to fit when larger than the stage, else at 100%.
  showWhole() {
    if (!this.img) return;
    this.whole = true;
    this.zoom = this.wholeZoom();
    this.x = (this.stage.clientWidth - this.img.naturalWidth * this.zoom) / 2;
    this.y = (this.stage.clientHeight - this.img.naturalHeight * this.zoom) / 2;
    this.apply();
  }

  setFitSmall(on) {
    this.fitSmall = on;
    if (this.img && this.whole) this.showWhole();
  }

  // Zoom by `factor` keeping the stage point (sx, sy) over the same image pixel.
  zoomAt(factor, sx, sy) {
    if (!this.img) return;
    const whole = this.wholeZoom();
    const zoom = Math.min(Math.max(this.zoom * factor, whole * MIN_FACTOR), Math.max(whole, 1) * MAX_FACTOR);
    const k = zoom / this.zoom;
    this.x = sx - (sx - this.x) * k;
    this.y = sy - (sy - this.y) * k;
    this.zoom = zoom;
    this.whole = false;
    this.apply();
  }

  zoomBy(factor) {
    this.zoomAt(factor, this.stage.clientWidth / 2, this.stage.clientHeight / 2);
  }

  panBy(dx, dy) {
    if (!this.img) return;
    this.x += dx;
    this.y += dy;
    this.whole = false;
    this.apply();
  }

  apply() {
    const w = this.img.naturalWidth * this.zoom;
    const h = this.img.naturalHeight * this.zoom;
    // Never pan the image out of sight.
    const keepX = Math.min(KEEP_VISIBLE, w);
    const keepY = Math.min(KEEP_VISIBLE, h);
    this.x = Math.min(Math.max(this.x, keepX - w), this.stage.clientWidth - keepX);
    this.y = Math.min(Math.max(this.y, keepY - h), this.stage.clientHeight - keepY);
    this.img.style.width = `${w}px`;
    this.img.style.height = `${h}px`;
    this.img.style.imageRendering = this.zoom >= 3 ? "pixelated" : "auto";
    this.inner.style.left = `${this.x}px`;
    this.inner.style.top = `${this.y}px`;
    this.onChange(this.zoom);
  }

  wheel(event) {
    if (!this.img) return;
    event.preventDefault();
    const pixels = event.deltaMode === 1 ? event.deltaY * 33 : event.deltaMode === 2 ? event.deltaY * 400 : event.deltaY;
    const rect = this.stage.getBoundingClientRect();
    this.zoomAt(WHEEL_STEP ** (-pixels / 100), event.clientX - rect.left, event.clientY - rect.top);
  }

  panStart(event) {
    if (!this.img || (!this.spaceHeld && event.button !== 1)) return;
    event.preventDefault();
    event.stopPropagation();
    this.panning = { x: event.clientX, y: event.clientY };
    this.stage.classList.add("panning");
  }

  panMove(event) {
    if (!this.panning) return;
    this.panBy(event.clientX - this.panning.x, event.clientY - this.panning.y);
    this.panning = { x: event.clientX, y: event.clientY };
  }

  panEnd() {
    if (!this.panning) return;
    this.panning = null;
    this.stage.classList.remove("panning");
  }

  setSpace(held) {
    this.spaceHeld = held;
    this.stage.classList.toggle("pan-ready", held);
  }

  setCrosshair(on) {
    this.crosshair.dataset.on = on ? "1" : "0";
    if (!on) this.crosshairHide();
  }

  crosshairMove(event) {
    if (this.crosshair.dataset.on !== "1") return;
    const rect = this.stage.getBoundingClientRect();
    this.crosshair.hidden = false;
    this.crosshair.style.setProperty("--cx", `${event.clientX - rect.left}px`);
    this.crosshair.style.setProperty("--cy", `${event.clientY - rect.top}px`);
  }

  crosshairHide() {
    this.crosshair.hidden = true;
  }

  // Brightness and contrast in percent (100 = unchanged), for dark or washed-out images.
  setAdjust({ brightness, contrast }) {
    if (!this.img) return;
    const same = brightness === 100 && contrast === 100;
    this.img.style.filter = same ? "" : `brightness(${brightness}%) contrast(${contrast}%)`;
  }
}
