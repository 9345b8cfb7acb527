// Each room's unsent text, kept in the local database (localdb.js) so that a reload or a closed
// tab does not lose it. Reads are from memory (loaded once at start); writes are debounced while
// typing and flushed when the page is hidden or closed.

import { systemClock } from "./clock.js";
import { MemoryDb } from "./localdb.js";

const WRITE_AFTER_MS = 300;

export class Drafts {
  /**
   * @param {object} [o]
   * @param {import("./localdb.js").LocalDb} [o.db]
   * @param {import("./clock.js").Clock} [o.clock]
   */
  constructor({ db = new MemoryDb(), clock = systemClock } = {}) {
    this.db = db;
    this.clock = clock;
    /** @type {Map<string, string>} room -> text */
    this.texts = new Map();
    /** @type {Set<string>} rooms whose text is not written yet */
    this.dirty = new Set();
    /** @type {number | undefined} */
    this.timer = undefined;
  }

  /** Read every room's draft (once, at start). Drafts set meanwhile win. */
  async load() {
    try {
      for (const { roomId, text } of await this.db.all("drafts")) {
        if (!this.texts.has(roomId) && text) this.texts.set(roomId, text);
      }
    } catch {
      /* nothing kept: start empty */
    }
  }

  /** @param {string} roomId */
  get(roomId) {
    return this.texts.get(roomId) || "";
  }

  /**
   * @param {string} roomId
   * @param {string} text  "" forgets the draft
   */
  set(roomId, text) {
    if (this.get(roomId) === text) return;
    if (text) this.texts.set(roomId, text);
    else this.texts.delete(roomId);
    this.dirty.add(roomId);
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this.flush(), WRITE_AFTER_MS);
  }

  /** Write what changed now (the page is being hidden or closed). */
  flush() {
    this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    for (const roomId of this.dirty) {
      const text = this.texts.get(roomId);
      const done = text ? this.db.put("drafts", { roomId, text }) : this.db.delete("drafts", roomId);
      done.catch(() => {});
    }
    this.dirty.clear();
  }
}
