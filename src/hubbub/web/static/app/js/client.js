// The signed-in client: loads state from the API, keeps it live from the stream, and carries out
// what the person does. Views read `client.store` and listen to its events.

import { Account } from "./account.js";
import { Admin } from "./admin.js";
import { Api, ApiError, seg } from "./api.js";
import { Conversations, pageCoverage } from "./conversations.js";
import { Drafts } from "./drafts.js";
import { openLocalDb } from "./localdb.js";
import { Moderation } from "./moderation.js";
import { Outbox } from "./outbox.js";
import { Search } from "./search.js";
import { Store } from "./store.js";
import { Stream } from "./stream.js";

const PAGE = 50;
const FILL_PAGE = 200;
// A timeline holds at most MAX_HELD messages: past it, the end furthest from where the person
// reads is dropped down to KEEP_HELD (fetched again when scrolled back to), so the DOM stays
// at a few thousand elements however far one scrolls.
export const MAX_HELD = 200;
export const KEEP_HELD = 150;
const CONTEXT_BEFORE_UNREAD = 10; // read messages shown above the first unread
const TYPING_EVERY_MS = 3000;
const READ_DEBOUNCE_MS = 400;
// Rooms up to this size have their member list fetched when opened: it says whether I am muted
// there (the room body does not). In bigger rooms a mute shows when its event arrives, or when
// a send is refused with 403 `muted`.
const MEMBERS_ON_OPEN_MAX = 200;

/**
 * @typedef {import("./store.js").Message} Message
 * @typedef {import("./store.js").Room} Room
 * @typedef {import("./store.js").User} User
 * @typedef {import("./store.js").StreamEvent} StreamEvent
 * @typedef {import("./stream.js").StreamStatus} StreamStatus
 */

export class Client extends EventTarget {
  /**
   * @param {import("./session.js").Session} session
   * @param {{onSignedOut: () => void}} callbacks  onSignedOut: the server ended the session
   */
  constructor(session, { onSignedOut }) {
    super();
    this.session = session;
    this.onSignedOut = onSignedOut;
    /** @type {string | null} */
    this.currentRoomId = null;
    /** @type {StreamStatus} */
    this.status = { state: "connecting", transport: "websocket", attempt: 0 };
    this.everLive = false;
    this.ended = false; // signed out: by the person, or the server said so (once is enough)
    /** @type {Map<string, number>} see _soon */
    this._timers = new Map();
    /** @type {Map<string, boolean>} see _soon */
    this._running = new Map();
    /** @type {Map<string, number>} room -> when I last said I was typing there */
    this._typingSent = new Map();
    /** @type {Map<string, number>} */
    this._readTimers = new Map();
    const token = () => this.session.token;
    const unauthenticated = () => this._unauthenticated();
    this.api = new Api({ token, onUnauthenticated: unauthenticated });
    this.store = new Store({
      refetchRoom: (id) => this._soon(`room:${id}`, () => this.refreshRoom(id)),
      refetchMessage: (id) => this._soon(`message:${id}`, () => this.refreshMessage(id)),
      fillGaps: (roomId) => this._soon(`gaps:${roomId}`, () => this.fillGaps(roomId)),
    });
    this.store.me = session.user;
    this.outbox = new Outbox({ api: this.api, store: this.store });
    this.drafts = new Drafts();
    this.account = new Account({ api: this.api, store: this.store });
    this.moderation = new Moderation({
      api: this.api,
      store: this.store,
      members: (roomId) => this.members(roomId),
    });
    this.admin = new Admin(this.api);
    this.conversations = new Conversations(this.api, this.store); // #17: threads, mentions, pins
    this.search = new Search(this.api, this.store); // #16: message search, opening at a message
    this.stream = new Stream({
      api: this.api,
      onEvents: (events) => this._onEvents(events),
      onReset: () => this._reset(),
      onStatus: (status) => this._onStatus(status),
      onUnauthenticated: unauthenticated,
    });
  }

  /** Load everything, then go live from the cursor taken *before* loading (nothing is missed). */
  async start() {
    const me = await this.api.get("/me");
    this.session.user = me;
    this.store.me = me;
    this.store.emit("me");
    // Unsent messages and drafts from earlier pages (this account's, on this browser).
    const db = await openLocalDb(me.id);
    this.outbox.db = this.drafts.db = db;
    await this.drafts.load();
    const cursor = await this.headCursor();
    await Promise.all([this.loadRooms(), this.loadPublicRooms()]);
    this.outbox.resume();
    this.stream.start(cursor);
  }

  stop() {
    this.stream.stop();
    for (const t of this._timers.values()) clearTimeout(t);
  }

  async signOut() {
    // First, so the stream's close (the server ends it with the session) is not taken for a
    // sign-out from elsewhere.
    this.ended = true;
    this.stop();
    // A shared computer: what this account left unsent stays with the account, not the browser.
    this.outbox.forgetAll();
    await this.outbox.db.clear().catch(() => {});
    try {
      await this.api.del("/sessions/current", { timeoutMs: 5000 });
    } catch {
      /* signing out locally is what matters */
    }
  }

  /** @returns {Promise<string>} */
  async headCursor() {
    return (await this.api.get("/events")).next;
  }

  // -- rooms ----------------------------------------------------------------------------------

  async loadRooms() {
    /** @type {{rooms: Room[]}} */
    const { rooms } = await this.api.get("/rooms?scope=mine");
    this.store.setRooms(rooms);
    // Who of my DM partners is online now (later changes come as presence events).
    const dms = rooms.filter((r) => r.kind === "dm").slice(0, 50);
    Promise.all(dms.map((r) => this.members(r.id))).catch(() => {});
  }

  async loadPublicRooms() {
    const { rooms } = await this.api.get("/rooms?scope=public");
    this.store.setPublicRooms(rooms);
  }

  /** @param {string} id */
  async refreshRoom(id) {
    try {
      const room = await this.api.get(`/rooms/${seg(id)}`);
      if (room.my_role) {
        this.store.mergeRoom(room);
        this.store.emit("rooms");
      }
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }

  /**
   * @param {string} name
   * @param {string} topic
   * @param {Room["visibility"]} visibility
   * @returns {Promise<Room>}
   */
  async createRoom(name, topic, visibility) {
    const room = await this.api.post("/rooms", { name, topic: topic || null, visibility });
    this.store.mergeRoom(room);
    this.store.emit("rooms");
    return room;
  }

  /** @param {string} roomId */
  async join(roomId) {
    await this.api.post(`/rooms/${seg(roomId)}/join`);
    this.store.publicRooms = this.store.publicRooms.filter((r) => r.id !== roomId);
    await this.refreshRoom(roomId);
  }

  /** @param {string} roomId */
  async leave(roomId) {
    await this.api.post(`/rooms/${seg(roomId)}/leave`);
    this.store.applyEvents([
      { type: "member.left", room_id: roomId, data: { room_id: roomId, user: this.store.me } },
    ]);
    this.loadPublicRooms().catch(() => {});
  }

  /**
   * @param {string} username
   * @returns {Promise<Room>}
   */
  async openDm(username) {
    const room = await this.api.post("/dms", { username });
    this.store.mergeRoom(room);
    this.store.emit("rooms");
    return room;
  }

  /**
   * @param {string} prefix
   * @param {AbortSignal} signal
   * @returns {Promise<User[]>}
   */
  async searchUsers(prefix, signal) {
    const q = new URLSearchParams({ prefix, limit: "8" });
    return (await this.api.get(`/users?${q}`, { signal })).users;
  }

  /**
   * @param {string} roomId
   * @returns {Promise<import("./store.js").Member[]>}
   */
  async members(roomId) {
    /** @type {import("./store.js").Member[]} */
    const members = (await this.api.get(`/rooms/${seg(roomId)}/members`)).members;
    await this.refreshPresence(members.map((m) => m.user));
    this.store.setMembers(roomId, members);
    return members;
  }

  /**
   * Ask who of `users` is online now; live presence events keep it current after that.
   * @param {User[]} users
   */
  async refreshPresence(users) {
    const ask = users.filter((u) => !this.store.me || u.id !== this.store.me.id).slice(0, 200);
    if (!ask.length) return;
    const query = ask.map((u) => `user_id=${encodeURIComponent(u.id)}`).join("&");
    try {
      const online = new Set((await this.api.get(`/presence?${query}`)).online);
      for (const u of ask) this.store.online.set(u.username.toLowerCase(), online.has(u.id));
      this.store.emit("presence");
    } catch {
      // Presence is a nicety: the dots still follow the live events.
    }
  }

  /**
   * @param {string} roomId
   * @param {string} username
   */
  async addMember(roomId, username) {
    return this.api.put(`/rooms/${seg(roomId)}/members/${seg(username)}`);
  }

  // -- timelines ------------------------------------------------------------------------------

  /**
   * Make `roomId` the room on screen; fetch its newest page the first time (or, in a big room,
   * the page at my first unread; or, for a permalink or a search hit, the page around message
   * `at`).
   * @param {string} roomId
   * @param {number | null} [at]
   */
  async openRoom(roomId, at = null) {
    this.currentRoomId = roomId;
    const t = this.store.timeline(roomId);
    if (at !== null && !t.bySeq.has(at)) {
      await this.search.loadAround(roomId, at);
      return;
    }
    if (t.loaded) return;
    const room = this.store.rooms.get(roomId);
    if (room && room.kind !== "dm" && room.member_count <= MEMBERS_ON_OPEN_MAX && !this.store.members.has(roomId)) {
      this.members(roomId).catch(() => {});
    }
    const marker = room && room.unread_count > 0 ? room.last_read_seq || 0 : null;
    if (room && marker !== null && room.last_seq - marker > PAGE) {
      await this.loadAtFirstUnread(roomId, marker);
    } else {
      await this.loadLatest(roomId); // the first unread, if any, is in the newest page
      // #17: that page is of top-level messages, so it reaches back at least as far; should it
      // not reach the marker (a page of thread replies only?), load back to it, by coverage.
      for (let i = 0; marker !== null && i < 4 && !t.covered.covers(marker + 1, t.minSeq - 1); i++) {
        await this.loadOlder(roomId);
      }
    }
  }

  /**
   * Open a big room where I stopped reading: the first unread page and a few read messages
   * above it, in two requests (instead of paging back from the newest).
   * @param {string} roomId
   * @param {number} marker  my read marker (the page starts after it)
   */
  async loadAtFirstUnread(roomId, marker) {
    const [after, before] = await Promise.all([
      this._fetchPage(roomId, `after=${marker}&limit=${PAGE}`),
      marker > 0 ? this._fetchPage(roomId, `before=${marker + 1}&limit=${CONTEXT_BEFORE_UNREAD}`) : null,
    ]);
    const t = this.store.timeline(roomId);
    t.clear();
    t.hasMoreAfter = false;
    this._cover(roomId, after);
    this.store.mergeMessages(roomId, after.data.messages, after.date);
    if (before) {
      this._cover(roomId, before);
      this.store.mergeMessages(roomId, before.data.messages, before.date);
    }
    t.hasMoreAfter = after.data.has_more_after;
    t.hasMoreBefore = t.minSeq > 1;
    t.loaded = true;
    this.store.emit("timeline", { roomId });
  }

  /**
   * The page after the newest message held, in a window that does not reach the end.
   * @param {string} roomId
   */
  async loadNewer(roomId) {
    const t = this.store.timeline(roomId);
    if (t.loadingNewer || !t.loaded || !t.hasMoreAfter) return;
    t.loadingNewer = true;
    this.store.emit("timeline", { roomId });
    try {
      const page = await this._page(roomId, `after=${t.maxSeq}&limit=${PAGE}`, true);
      t.hasMoreAfter = page.has_more_after;
      if (t.bySeq.size > MAX_HELD) t.trim(KEEP_HELD, "newest");
    } finally {
      t.loadingNewer = false;
      this.store.emit("timeline", { roomId });
    }
  }

  /**
   * Show the newest messages (a window elsewhere is dropped).
   * @param {string} roomId
   */
  async jumpToLatest(roomId) {
    const t = this.store.timeline(roomId);
    if (!t.hasMoreAfter) return;
    t.clear();
    t.hasMoreAfter = false;
    t.loaded = false;
    this.store.emit("timeline", { roomId });
    await this.loadLatest(roomId);
  }

  /**
   * @param {string} roomId
   * @param {string} query
   * @param {boolean} [extend]  see Store.mergeMessages
   * @returns {Promise<{messages: Message[], has_more_before: boolean, has_more_after: boolean}>}
   */
  async _page(roomId, query, extend = false) {
    const page = await this._fetchPage(roomId, query);
    this._cover(roomId, page);
    this.store.mergeMessages(roomId, page.data.messages, page.date, extend);
    return page.data;
  }

  /**
   * A page of the main timeline: top-level messages (#17: thread replies show in their
   * thread's panel), not merged yet.
   * @param {string} roomId
   * @param {string} query
   * @returns {Promise<{data: any, date: number, query: string}>}
   */
  async _fetchPage(roomId, query) {
    const { data, date } = await this.api.request("GET", `/rooms/${seg(roomId)}/messages?${query}&top_level=true`);
    return { data, date, query };
  }

  /**
   * Record what a fetched page proves holds only thread replies: no gap (conversations.js
   * Coverage).
   * @param {string} roomId
   * @param {{data: any, query: string}} page
   */
  _cover(roomId, { data, query }) {
    const q = new URLSearchParams(query);
    const asked = {
      after: q.has("after") ? Number(q.get("after")) : undefined,
      before: q.has("before") ? Number(q.get("before")) : undefined,
    };
    const range = pageCoverage(asked, data, this.store.rooms.get(roomId)?.last_seq ?? 0);
    if (range) this.store.timeline(roomId).covered.add(range[0], range[1]);
  }

  /** @param {string} roomId */
  async loadLatest(roomId) {
    const page = await this._page(roomId, `limit=${PAGE}`);
    const t = this.store.timeline(roomId);
    t.loaded = true;
    t.hasMoreBefore = t.minSeq > 1;
    this.store.emit("timeline", { roomId });
    if (page.has_more_after) await this.fillAfter(roomId);
  }

  /**
   * The page before the oldest message held (infinite scroll).
   * @param {string} roomId
   */
  async loadOlder(roomId) {
    const t = this.store.timeline(roomId);
    if (t.loadingOlder || !t.loaded || t.minSeq <= 1) return;
    t.loadingOlder = true;
    this.store.emit("timeline", { roomId });
    try {
      await this._page(roomId, `before=${t.minSeq}&limit=${PAGE}`);
      if (t.bySeq.size > MAX_HELD) t.trim(KEEP_HELD, "oldest");
    } finally {
      t.loadingOlder = false;
      t.hasMoreBefore = t.minSeq > 1;
      this.store.emit("timeline", { roomId });
    }
  }

  /**
   * Everything after the newest message held (after a reconnect, as a cross-check).
   * @param {string} roomId
   */
  async fillAfter(roomId) {
    const t = this.store.timeline(roomId);
    for (;;) {
      const page = await this._page(roomId, `after=${t.maxSeq}&limit=${FILL_PAGE}`);
      if (!page.has_more_after || !page.messages.length) return;
    }
  }

  /**
   * Seqs are gapless, so a hole between held messages is an exact range to fetch.
   * @param {string} roomId
   */
  async fillGaps(roomId) {
    const t = this.store.timelines.get(roomId);
    if (!t) return;
    for (const [after, before] of t.gaps()) {
      let from = after;
      while (from < before - 1) {
        const page = await this._page(roomId, `after=${from}&before=${before}&limit=${FILL_PAGE}`);
        if (!page.messages.length) break;
        from = page.messages[page.messages.length - 1].seq;
      }
    }
  }

  /** @param {string} id */
  async refreshMessage(id) {
    try {
      const { data, date } = await this.api.request("GET", `/messages/${seg(id)}`);
      this.store.mergeMessages(data.room_id, [data], date);
    } catch (err) {
      if (!(err instanceof ApiError && err.status === 404)) throw err;
    }
  }

  /**
   * Move my read marker to `seq` (shown on screen); the request is debounced.
   * @param {string} roomId
   * @param {number} seq
   */
  markRead(roomId, seq) {
    const room = this.store.rooms.get(roomId);
    if (!room || seq <= (room.last_read_seq || 0)) return;
    this.store.markReadLocally(roomId, seq);
    clearTimeout(this._readTimers.get(roomId));
    this._readTimers.set(
      roomId,
      setTimeout(() => {
        const marker = this.store.rooms.get(roomId)?.last_read_seq;
        if (marker === undefined) return;
        this.api.put(`/rooms/${seg(roomId)}/read`, { seq: marker }).catch(() => {});
      }, READ_DEBOUNCE_MS),
    );
  }

  // -- messages -------------------------------------------------------------------------------

  /**
   * @param {string} roomId
   * @param {string} text
   * @param {string | null} replyTo
   * @param {import("./outbox.js").PendingFile[]} [attachments]  finished uploads (#15)
   * @param {import("./outbox.js").ThreadReply | null} [thread]  a reply in a thread (#17)
   */
  send(roomId, text, replyTo, attachments = [], thread = null) {
    this.outbox.send(roomId, text, replyTo, attachments, thread);
    // Reading older messages: what I send shows at the end, so go there.
    if ((!thread || thread.alsoToRoom) && this.store.timelines.get(roomId)?.hasMoreAfter) {
      this.jumpToLatest(roomId).catch(() => {});
    }
    this._typingSent.delete(roomId); // the message ends "typing": typing again says so again
  }

  /**
   * @param {Message} message
   * @param {string} text
   */
  async edit(message, text) {
    try {
      const { data, date } = await this.api.request("PATCH", `/messages/${seg(message.id)}`, {
        body: { text },
      });
      this.store.mergeMessages(data.room_id, [data], date);
    } catch (err) {
      this._noteMuted(err, message.room_id);
      throw err;
    }
  }

  /**
   * A write refused with 403 `muted`: the store learns I am muted there.
   * @param {unknown} err
   * @param {string} roomId
   */
  _noteMuted(err, roomId) {
    if (err instanceof ApiError && err.code === "muted") this.store.noteMuted(roomId);
  }

  /** @param {Message} message */
  async remove(message) {
    await this.api.del(`/messages/${seg(message.id)}`);
    this.store.applyEvents([
      {
        type: "message.deleted",
        room_id: message.room_id,
        data: { id: message.id, room_id: message.room_id, seq: message.seq },
      },
    ]);
  }

  /**
   * Toggle my reaction; shown at once, undone if the server refuses.
   * @param {Message} message
   * @param {string} emoji
   */
  async react(message, emoji) {
    const r = message.reactions.find((x) => x.emoji === emoji);
    const add = !(r && r.me);
    this.store.toggleOwnReaction(message, emoji, add);
    try {
      const path = `/messages/${seg(message.id)}/reactions/${seg(emoji)}`;
      if (add) await this.api.put(path);
      else await this.api.del(path);
    } catch (err) {
      this._noteMuted(err, message.room_id);
      this.refreshMessage(message.id).catch(() => {});
      throw err;
    }
  }

  /**
   * A message a reply points to, from what is held or else from the API (cached).
   * @param {string} id
   * @returns {Promise<Message>}
   */
  async fetchMessage(id) {
    const held = this.store.findMessage(id);
    if (held) return held;
    const m = await this.api.get(`/messages/${seg(id)}`);
    this.store.replyCache.set(id, m);
    return m;
  }

  /**
   * Tell others I am typing, at most every few seconds.
   * @param {string} roomId
   */
  typing(roomId) {
    const now = Date.now();
    if (now - (this._typingSent.get(roomId) || 0) < TYPING_EVERY_MS) return;
    this._typingSent.set(roomId, now);
    if (!this.stream.sendTyping(roomId)) {
      this.api.post(`/rooms/${seg(roomId)}/typing`).catch((err) => this._noteMuted(err, roomId));
    }
  }

  // -- stream ---------------------------------------------------------------------------------

  /** @param {StreamEvent[]} events */
  _onEvents(events) {
    for (const ev of events) {
      if (ev.type === "message.created") this.outbox.noteEcho(ev.data);
    }
    this.store.applyEvents(events);
    this.dispatchEvent(new CustomEvent("events", { detail: events })); // #18: desktop notifications
  }

  /** @param {StreamStatus} status */
  _onStatus(status) {
    this.status = status;
    if (status.state === "live") {
      if (this.everLive) this._afterReconnect();
      this.everLive = true;
      this.outbox.retryAll();
    }
    this.dispatchEvent(new CustomEvent("status", { detail: status }));
  }

  /**
   * The stream replays what was missed from its cursor; as a cross-check (and for exact counts)
   * refetch the room list and anything after the newest message of the room on screen.
   */
  _afterReconnect() {
    this.loadRooms().catch(() => {});
    this.loadPublicRooms().catch(() => {});
    const id = this.currentRoomId;
    const t = id ? this.store.timelines.get(id) : undefined;
    if (id && t?.loaded && !t.hasMoreAfter) this.fillAfter(id).catch(() => {});
  }

  /**
   * The server cannot resume our cursor (its database was restored from a backup, or the
   * cursor is from another deployment): drop every timeline, reload the room list, and stream
   * from a fresh cursor. Views get "reset" and reopen the room on screen from scratch.
   */
  async _reset() {
    const cursor = await this.headCursor();
    await Promise.all([this.loadRooms(), this.loadPublicRooms()]);
    this.store.timelines.clear();
    this.store.replyCache.clear();
    this.dispatchEvent(new CustomEvent("reset"));
    return cursor;
  }

  /** The server no longer knows our token (a 401, or the stream's 4401 confirmed by one). */
  _unauthenticated() {
    if (this.ended) return;
    this.ended = true;
    this.stop();
    this.onSignedOut();
  }

  /**
   * Run `fn` shortly, once per `key` however often it is asked for (again if asked while running).
   * @param {string} key
   * @param {() => Promise<void>} fn
   */
  _soon(key, fn, ms = 120) {
    if (this._timers.has(key)) return;
    if (this._running.has(key)) {
      this._running.set(key, true);
      return;
    }
    this._timers.set(
      key,
      setTimeout(async () => {
        this._timers.delete(key);
        this._running.set(key, false);
        try {
          await fn();
        } catch {
          /* a later event or reconnect asks again */
        } finally {
          const again = this._running.get(key);
          this._running.delete(key);
          if (again) this._soon(key, fn, ms);
        }
      }, ms),
    );
  }
}
