// Optimistic sends. Each message gets an Idempotency-Key once, and every retry reuses it, so the
// server stores it at most once however often the network fails. Sends to one room go one at a
// time, in order, so messages typed while offline arrive in the order they were written.
//
// Every message is also written to the local database (localdb.js) before it is sent and
// removed once the server has answered with it (or the person deleted it), so a reload or a
// closed tab does not lose it: `resume()` (once per page) puts what was left back in the queue
// with its key. The server keeps keys for a day, so re-sending with the key cannot store a
// message twice; anything older than RESUME_MAX_AGE_MS comes back failed, for the person to
// decide.

import { ApiError, seg } from "./api.js";
import { systemClock } from "./clock.js";
import { MemoryDb } from "./localdb.js";
import { backoffDelay } from "./stream.js";

// No answer at all (offline, server down): about two minutes of back-off before asking the
// person; the stream's reconnect retries sooner. Later messages to the room wait, as they
// would fail the same way.
const AUTO_RETRIES = 12;
// The server answered with an error (5xx, 429, 408): a few quick tries, then the message is
// marked failed (Retry/Delete) so that it holds the room's later messages seconds, not minutes.
export const SERVER_RETRIES = 4;
export const RESUME_MAX_AGE_MS = 20 * 3600 * 1000; // the server forgets keys after 24 h

/**
 * A message on its way. `echoed`: it already came back on the stream (so it is not shown
 * twice), though its send has not settled yet.
 * @typedef {object} Pending
 * @property {string} key  its Idempotency-Key, the same on every try
 * @property {string} roomId
 * @property {string} text
 * @property {string | null} replyTo
 * @property {PendingFile[]} attachments  #15: finished uploads it carries (maybe with no text)
 * @property {ThreadReply | null} thread  a reply in a thread (#17): its root, and whether it
 *   also goes to the room's timeline
 * @property {"queued" | "sending" | "retrying" | "failed"} state
 * @property {number} attempts
 * @property {string} error  what to show while retrying or failed
 * @property {boolean} echoed
 * @property {number} createdAt  when it was written (ms), for the order after a reload
 * @property {boolean} [refused]  failed because the server refused it (not worth resending
 *   unchanged): kept failed across a reload, where a server error is tried again
 */

/**
 * An uploaded file a message carries: its id, and what the pending row shows of it.
 * @typedef {{id: string, filename: string, content_type: string, size: number}} PendingFile
 */

/**
 * @typedef {{root: string, alsoToRoom: boolean}} ThreadReply
 */

/**
 * What the local database keeps of a Pending.
 * @typedef {{key: string, roomId: string, text: string, replyTo: string | null,
 *   attachments?: PendingFile[], thread?: ThreadReply | null, failed: boolean, error: string,
 *   createdAt: number, n: number}} OutboxRecord
 */

export class Outbox extends EventTarget {
  /**
   * @param {object} o
   * @param {import("./api.js").Api} o.api
   * @param {import("./store.js").Store} o.store
   * @param {import("./clock.js").Clock} [o.clock]  for the back-off between retries
   * @param {() => number} [o.random]  for the back-off's jitter
   * @param {import("./localdb.js").LocalDb} [o.db]  where unsent messages survive a reload
   * @param {() => boolean} [o.isOffline]  the browser says it has no network
   */
  constructor({
    api,
    store,
    clock = systemClock,
    random = Math.random,
    db = new MemoryDb(),
    isOffline = () => typeof navigator !== "undefined" && navigator.onLine === false,
  }) {
    super();
    this.isOffline = isOffline;
    this.db = db;
    /** @type {Promise<void> | null} */
    this.resumed = null;
    this.written = 0; // orders records written in the same millisecond
    this.api = api;
    this.store = store;
    this.clock = clock;
    this.random = random;
    /** @type {Pending[]} */
    this.entries = [];
    /** @type {Set<string>} rooms with a send in flight */
    this.busy = new Set();
    /** @type {Map<string, number>} key -> its scheduled retry */
    this.timers = new Map();
  }

  /**
   * Entries to show in a room's timeline, in the order written (thread replies only when they
   * also go to the room).
   * @param {string} roomId
   */
  pendingIn(roomId) {
    return this.entries.filter(
      (e) => e.roomId === roomId && !e.echoed && (!e.thread || e.thread.alsoToRoom),
    );
  }

  /**
   * Replies on their way to a thread, in the order written.
   * @param {string} rootId
   */
  pendingInThread(rootId) {
    return this.entries.filter((e) => e.thread?.root === rootId && !e.echoed);
  }

  /**
   * @param {string} roomId
   * @param {string} text
   * @param {string | null} [replyTo]  the id of the message answered
   * @param {PendingFile[]} [attachments]  uploads to attach, their ids sent (#15)
   * @param {ThreadReply | null} [thread]  a reply in this thread (#17)
   */
  send(roomId, text, replyTo = null, attachments = [], thread = null) {
    /** @type {Pending} */
    const e = {
      key: crypto.randomUUID(),
      roomId,
      text,
      replyTo,
      attachments: attachments.map(({ id, filename, content_type, size }) => ({ id, filename, content_type, size })),
      thread: thread ? { root: thread.root, alsoToRoom: thread.alsoToRoom } : null,
      state: "queued",
      attempts: 0,
      error: "",
      echoed: false,
      createdAt: this.clock.now(),
    };
    this.entries.push(e);
    this._save(e);
    this._changed(roomId);
    this._pump(roomId);
  }

  /**
   * Put back in the queue what an earlier page left unsent (each with its key), in the order
   * written, and start sending it. Runs once per Outbox however often it is called.
   * @returns {Promise<void>}
   */
  resume() {
    this.resumed ??= this._resume();
    return this.resumed;
  }

  async _resume() {
    /** @type {OutboxRecord[]} */
    let records;
    try {
      records = await this.db.all("outbox");
    } catch {
      return;
    }
    records.sort((a, b) => a.createdAt - b.createdAt || a.n - b.n);
    const now = this.clock.now();
    const held = new Set(this.entries.map((e) => e.key));
    /** @type {Pending[]} */
    const back = [];
    for (const r of records) {
      if (held.has(r.key)) continue;
      const stale = now - r.createdAt > RESUME_MAX_AGE_MS;
      back.push({
        key: r.key,
        roomId: r.roomId,
        text: r.text,
        replyTo: r.replyTo,
        attachments: r.attachments || [],
        thread: r.thread || null,
        state: r.failed || stale ? "failed" : "queued",
        attempts: 0,
        error: r.failed ? r.error : stale ? "Not sent before the page was closed" : "",
        echoed: false,
        createdAt: r.createdAt,
      });
    }
    this.entries = [...back, ...this.entries];
    const rooms = new Set(back.map((e) => e.roomId));
    for (const roomId of rooms) {
      this._changed(roomId);
      this._pump(roomId);
    }
  }

  /** Drop every message without sending it (signing out). */
  forgetAll() {
    for (const t of this.timers.values()) this.clock.clearTimeout(t);
    const rooms = new Set(this.entries.map((e) => e.roomId));
    this.entries = [];
    for (const roomId of rooms) this._changed(roomId);
  }

  /** How many messages are not yet confirmed by the server (a reason not to leave the page). */
  unsent() {
    return this.entries.length;
  }

  /**
   * Write the entry's lasting part (its text, key, and whether it failed and why).
   * @param {Pending} e
   */
  _save(e) {
    /** @type {OutboxRecord} */
    const record = {
      key: e.key,
      roomId: e.roomId,
      text: e.text,
      replyTo: e.replyTo,
      attachments: e.attachments,
      thread: e.thread,
      failed: e.state === "failed" && !!e.refused,
      error: e.state === "failed" && e.refused ? e.error : "",
      createdAt: e.createdAt,
      n: this.written++,
    };
    this.db.put("outbox", record).catch(() => {});
  }

  /** @param {Pending} e */
  _forget(e) {
    this.db.delete("outbox", e.key).catch(() => {});
  }

  /**
   * Try a failed (or waiting) message again now, with the same key.
   * @param {string} key
   */
  retry(key) {
    const e = this.entries.find((x) => x.key === key);
    if (!e || e.state === "sending") return;
    this.clock.clearTimeout(this.timers.get(key));
    const wasFailed = e.state === "failed";
    e.state = "queued";
    e.attempts = 0;
    e.error = "";
    e.refused = false;
    if (wasFailed) this._save(e); // a reload now resumes it instead of showing it failed
    this._changed(e.roomId);
    this._pump(e.roomId);
  }

  /** Every message waiting on the network, now (the connection just came back). */
  retryAll() {
    for (const e of this.entries) if (e.state === "retrying") this.retry(e.key);
  }

  /** @param {string} key */
  discard(key) {
    const e = this.entries.find((x) => x.key === key);
    if (!e || e.state === "sending") return;
    this.clock.clearTimeout(this.timers.get(key));
    this.entries = this.entries.filter((x) => x !== e);
    this._forget(e);
    this._changed(e.roomId);
    this._pump(e.roomId);
  }

  /**
   * My own message came back on the stream: hide its pending copy (its send still settles).
   * @param {import("./store.js").Message} message
   */
  noteEcho(message) {
    if (!this.store.me || !message.author || message.author.id !== this.store.me.id) return;
    const e = this.entries.find(
      (x) =>
        !x.echoed &&
        x.roomId === message.room_id &&
        x.text === message.text &&
        (x.replyTo || null) === (message.reply_to || null) &&
        (x.thread?.root || null) === (message.thread_root || null) &&
        sameFiles(x.attachments, message.attachments) &&
        x.state !== "failed",
    );
    if (e) e.echoed = true;
  }

  /** @param {string} roomId */
  _changed(roomId) {
    this.dispatchEvent(new CustomEvent("change", { detail: { roomId } }));
  }

  /**
   * A try failed: say what happened, and either schedule the next try or mark it failed.
   * @param {Pending} e
   * @param {unknown} err
   */
  _failed(e, err) {
    /** @type {string | null} null: do not try again by itself */
    let waiting = null;
    let timed = true; // the next try is on a timer (else on "online" or the stream's return)
    if (err instanceof ApiError && err.retryable) {
      const what = err.status === 429 ? "Sending too fast" : `Server error (${err.status})`;
      waiting = e.attempts < SERVER_RETRIES ? `${what}. Trying again…` : null;
      e.error = what;
    } else if (/** @type {{retryable?: boolean} | null} */ (err)?.retryable) {
      e.error = "Could not reach the server";
      if (this.isOffline()) {
        // Trying is pointless until the browser is back online (which retries at once), and
        // does not use up the tries.
        waiting = "You are offline. It will be sent when the connection returns.";
        timed = false;
        e.attempts -= 1;
      } else if (e.attempts < AUTO_RETRIES) {
        waiting = "Cannot reach the server. Trying again…";
      }
    } else if (err instanceof ApiError && err.code === "muted") {
      // Muted while we did not know it (it happened before this page loaded, or the event is
      // still on its way): from now on the composer says so.
      e.error = "You are muted in this room";
      this.store.noteMuted(e.roomId);
    } else {
      e.error = err instanceof ApiError ? `Refused by the server: ${err.message}` : "Could not send";
    }
    if (waiting !== null) {
      e.state = "retrying";
      e.error = waiting;
      if (!timed) return;
      const roomId = e.roomId;
      this.timers.set(
        e.key,
        this.clock.setTimeout(
          () => {
            if (e.state === "retrying") {
              e.state = "queued";
              this._pump(roomId);
            }
          },
          backoffDelay(Math.min(e.attempts, 6), this.random),
        ),
      );
      return;
    }
    e.state = "failed";
    e.echoed = false;
    e.refused = !(/** @type {{retryable?: boolean} | null} */ (err)?.retryable);
    this._save(e);
  }

  /** @param {string} roomId */
  async _pump(roomId) {
    if (this.busy.has(roomId)) return;
    const e = this.entries.find(
      (x) => x.roomId === roomId && (x.state === "queued" || x.state === "retrying"),
    );
    if (!e || e.state === "retrying") return; // a retry is scheduled: keep the order
    this.busy.add(roomId);
    e.state = "sending";
    e.attempts += 1;
    this._changed(roomId);
    try {
      /** @type {{text: string, reply_to?: string, attachments?: string[], thread_root?: string, also_to_room?: boolean}} */
      const body = { text: e.text };
      if (e.replyTo) body.reply_to = e.replyTo;
      if (e.thread) {
        body.thread_root = e.thread.root;
        body.also_to_room = e.thread.alsoToRoom;
      }
      if (e.attachments.length) body.attachments = e.attachments.map((a) => a.id);
      const message = await this.api.post(`/rooms/${seg(roomId)}/messages`, body, {
        headers: { "Idempotency-Key": e.key },
      });
      this.entries = this.entries.filter((x) => x !== e);
      this._forget(e);
      // A slash command ran instead (202 {command, known, response_type}): no message; its
      // answer, if any, comes as a command.reply event or as a message of its own (#19).
      if (!(message && typeof message.command === "string" && !message.id)) this.store.addSent(message);
    } catch (err) {
      this._failed(e, err);
    } finally {
      this.busy.delete(roomId);
      this._changed(roomId);
    }
    this._pump(roomId);
  }
}

/**
 * The same files, in the same order (a message's echo against its pending copy).
 * @param {PendingFile[]} mine
 * @param {{id: string}[] | undefined} theirs
 */
function sameFiles(mine, theirs) {
  const a = mine.map((f) => f.id);
  const b = (theirs || []).map((f) => f.id);
  return a.length === b.length && a.every((id, i) => id === b[i]);
}
