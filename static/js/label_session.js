// "Where am I": the images opened in this sitting (this browser tab, kept across reloads),
// in order, so the page can say "image 3 of 12 in this session" and reopen the previous one.

export class SessionTrail {
  constructor(projectId) {
    this.key = `concord.labeling.${projectId}`;
    let saved = null;
    try {
      saved = JSON.parse(sessionStorage.getItem(this.key));
    } catch {
      saved = null;
    }
    this.ids = Array.isArray(saved && saved.ids) ? saved.ids.filter(Number.isInteger) : [];
    this.remaining = saved && Number.isInteger(saved.remaining) ? saved.remaining : null;
    this.capped = Boolean(saved && saved.capped);
  }

  save() {
    try {
      sessionStorage.setItem(this.key, JSON.stringify({ ids: this.ids, remaining: this.remaining, capped: this.capped }));
    } catch {
      // Private mode or a full storage: the trail lasts until the page reloads; nothing is lost.
    }
  }

  visit(annotationId) {
    if (!this.ids.includes(annotationId)) this.ids.push(annotationId);
    this.save();
  }

  setRemaining(remaining, capped) {
    this.remaining = remaining;
    this.capped = capped;
    this.save();
  }

  position(annotationId) {
    return this.ids.indexOf(annotationId) + 1;
  }

  previous(annotationId) {
    const at = this.ids.indexOf(annotationId);
    return at > 0 ? this.ids[at - 1] : null;
  }

  // "Image 3 of 12 in this session": the images opened so far and those the queue still has.
  describe(annotationId) {
    const position = this.position(annotationId);
    if (this.remaining === null) return `Image ${position} in this session`;
    const total = this.ids.length + this.remaining;
    return `Image ${position} of ${total}${this.capped ? "+" : ""} in this session`;
  }
}
