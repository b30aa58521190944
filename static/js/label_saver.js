// Autosave of the labeler's draft: debounced PUT of all boxes, retried with backoff on failure.
// A failed save is always shown (never swallowed); a refused save (400) shows the server's
// message and waits for the labeler to fix the box instead of retrying the same request.

const DEBOUNCE_MS = 400;
const BACKOFF_MS = [1000, 2000, 4000, 8000, 15000, 30000];

export function csrfToken() {
  const input = document.querySelector("input[name=csrfmiddlewaretoken]");
  if (input) return input.value;
  const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
  return match ? decodeURIComponent(match[1]) : "";
}

export async function api(url, { method = "GET", body, keepalive = false } = {}) {
  const response = await fetch(url, {
    method,
    keepalive,
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      Accept: "application/json",
      "X-CSRFToken": csrfToken(),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  let data = null;
  if (response.status !== 204) {
    try {
      data = await response.json();
    } catch {
      data = null;
    }
  }
  return { status: response.status, ok: response.ok, data };
}

export class Saver {
  // url: the annotation's API url; collect(): the body to PUT; show(state, text): status UI.
  constructor({ url, collect, show, onRefused }) {
    this.url = url;
    this.collect = collect;
    this.show = show;
    this.onRefused = onRefused;
    this.dirty = false;
    this.inflight = null;
    this.timer = null;
    this.failures = 0;
    this.refused = false;
    this.stopped = false;
    this.waitingRetry = false;
    this.lastMessage = "";
  }

  changed() {
    this.dirty = true;
    this.refused = false;
    this.waitingRetry = false;
    clearTimeout(this.timer);
    this.show("pending", "Unsaved changes…");
    this.timer = setTimeout(() => this.save(), DEBOUNCE_MS);
  }

  // Save now if anything changed; resolves true once the server holds the latest boxes.
  async flush() {
    clearTimeout(this.timer);
    for (let round = 0; round < 3; round += 1) {
      if (this.inflight) await this.inflight;
      if (!this.dirty) return !this.refused;
      await this.save();
    }
    return !this.dirty && !this.refused;
  }

  save() {
    if (this.stopped) return Promise.resolve();
    if (this.inflight) return this.inflight; // the running save re-checks `dirty` when done
    clearTimeout(this.timer);
    this.dirty = false;
    const body = this.collect();
    this.show("saving", "Saving…");
    this.inflight = api(this.url, { method: "PUT", body })
      .then((result) => this.handle(result))
      .catch(() => this.failed("the server could not be reached"))
      .finally(() => {
        this.inflight = null;
        if (this.dirty && !this.refused && !this.waitingRetry) this.save();
      });
    return this.inflight;
  }

  handle({ status, ok, data }) {
    const message = (data && data.detail) || `the server answered ${status}`;
    this.lastMessage = ok ? "" : message;
    if (ok) {
      this.failures = 0;
      if (!this.dirty) this.show("saved", "Saved");
      return;
    }
    if (status === 400) {
      this.refused = true;
      this.show("refused", "Not saved — fix the box below");
      this.onRefused(message);
      return;
    }
    if (status === 409) {
      // A submitted image past its grace period: nothing to retry, the stored boxes stand.
      this.stopped = true;
      this.show("refused", "Not saved");
      this.onRefused(message);
      return;
    }
    if (status === 403 || status === 404) {
      this.stopped = true;
      this.show("refused", "Not saved");
      this.onRefused(`${message} Your changes cannot be saved here; reload the page.`);
      return;
    }
    this.failed(message);
  }

  failed(reason) {
    this.lastMessage = reason;
    this.dirty = true; // the server does not have these boxes yet
    const wait = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
    this.failures += 1;
    this.show("failed", `Save failed — retrying in ${Math.round(wait / 1000)} s (${reason})`);
    clearTimeout(this.timer);
    this.waitingRetry = true;
    this.timer = setTimeout(() => {
      this.waitingRetry = false;
      this.save();
    }, wait);
  }

  retryNow() {
    clearTimeout(this.timer);
    this.waitingRetry = false;
    this.failures = 0;
    this.dirty = true;
    return this.save();
  }

  // Last chance when the page goes away: a keepalive request survives the unload.
  saveOnUnload() {
    if (!this.dirty || this.stopped) return;
    api(this.url, { method: "PUT", body: this.collect(), keepalive: true });
  }
}
