// Mentions, threads and pins (#17) as the client holds them: which messages mention me, how
// their events change the store, and the API calls of the Mentions, Threads and Pins views.
// store.js and client.js call in here through small hooks, so this feature stays in one place.

import { seg } from "./api.js";

/**
 * @typedef {import("./store.js").Message} Message
 * @typedef {import("./store.js").User} User
 * @typedef {import("./store.js").StreamEvent} StreamEvent
 * @typedef {import("./store.js").Store} Store
 * @typedef {import("./store.js").Touched} Touched
 * @typedef {{root: Message, replies: Message[], has_more: boolean}} ThreadPage
 * @typedef {{root: Message, unread_count: number, last_read_seq: number}} FollowedThread
 */

/**
 * The message mentions me: by name, or by @room / @here (a live @here reached me: I was
 * connected). My own messages never count.
 * @param {Partial<Message> | null | undefined} m
 * @param {User | null} me
 */
export function mentionsMe(m, me) {
  if (!m || !me || !m.mentions || m.deleted) return false;
  if (m.author && m.author.id === me.id) return false;
  return m.mentions.users.includes(me.id) || m.mentions.room || m.mentions.here;
}

/**
 * A thread reply that belongs in its thread only (not `also_to_room`): the main timeline
 * leaves it out.
 * @param {Message} m
 */
export const onlyInThread = (m) => !!m.thread_root && !m.also_to_room;

/**
 * Apply an event of mentions, threads or pins; false if it is none of them.
 * Emits "thread" ({roomId, rootId}) and "pins" ({roomId}) for the panels that show them.
 * @param {Store} store
 * @param {StreamEvent} ev
 * @param {Touched} touched
 */
export function applyConversationEvent(store, ev, touched) {
  const d = ev.data || {};
  switch (ev.type) {
    case "thread.updated": {
      const root = heldMessage(store, d.room_id, d.seq);
      if (root) root.thread = d.thread;
      touched.timelines.add(d.room_id);
      store.dispatchEvent(new CustomEvent("thread", { detail: { roomId: d.room_id, rootId: d.root_id } }));
      return true;
    }
    case "thread.read":
      store.dispatchEvent(new CustomEvent("thread", { detail: { roomId: d.room_id, rootId: d.root_id } }));
      return true;
    case "message.pinned":
    case "message.unpinned": {
      const m = heldMessage(store, d.room_id, d.seq);
      if (m) m.pinned_at = ev.type === "message.pinned" ? d.pinned_at : null;
      touched.timelines.add(d.room_id);
      store.dispatchEvent(new CustomEvent("pins", { detail: { roomId: d.room_id } }));
      return true;
    }
    default:
      return false;
  }
}

/**
 * @param {Store} store
 * @param {string} roomId
 * @param {number} seq
 */
function heldMessage(store, roomId, seq) {
  const t = store.timelines.get(roomId);
  return t ? t.bySeq.get(seq) || null : null;
}

/**
 * A message created live: one more unread mention in its room if it mentions me.
 * @param {Store} store
 * @param {Message} m
 */
export function countCreatedMention(store, m) {
  const room = store.rooms.get(m.room_id);
  if (room && mentionsMe(m, store.me)) room.mention_count = (room.mention_count || 0) + 1;
}

/**
 * An unread message that mentioned me was deleted: one mention fewer.
 * @param {Store} store
 * @param {Message} m
 */
export function uncountDeletedMention(store, m) {
  const room = store.rooms.get(m.room_id);
  if (room && mentionsMe(m, store.me) && m.seq > (room.last_read_seq || 0)) {
    room.mention_count = Math.max(0, (room.mention_count || 0) - 1);
  }
}

/**
 * The API calls of threads, mentions and pins.
 */
export class Conversations {
  /**
   * @param {import("./api.js").Api} api
   * @param {Store} store
   */
  constructor(api, store) {
    this.api = api;
    this.store = store;
  }

  /**
   * A thread: its root and replies after `after`.
   * @param {string} rootId
   * @returns {Promise<ThreadPage>}
   */
  async thread(rootId, after = 0) {
    /** @type {ThreadPage} */
    const page = { root: /** @type {any} */ (null), replies: [], has_more: true };
    while (page.has_more) {
      const q = new URLSearchParams({ after: String(after), limit: "100" });
      const next = await this.api.get(`/messages/${seg(rootId)}/thread?${q}`);
      page.root = next.root;
      page.replies.push(...next.replies);
      page.has_more = next.has_more && next.replies.length > 0;
      if (next.replies.length) after = next.replies[next.replies.length - 1].seq;
    }
    return page;
  }

  /**
   * Mark a followed thread read up to `seq`.
   * @param {string} rootId
   * @param {number} seq
   */
  async markThreadRead(rootId, seq) {
    await this.api.put(`/messages/${seg(rootId)}/thread/read`, { seq });
  }

  /**
   * @param {string} rootId
   * @param {boolean} follow
   */
  async follow(rootId, follow) {
    if (follow) await this.api.put(`/messages/${seg(rootId)}/follow`);
    else await this.api.del(`/messages/${seg(rootId)}/follow`);
  }

  /**
   * Messages that mention me, newest first.
   * @param {string | null} [before]
   * @returns {Promise<{messages: Message[], next_before: string | null}>}
   */
  async mentions(before = null) {
    const q = new URLSearchParams({ limit: "50" });
    if (before) q.set("before", before);
    return this.api.get(`/mentions?${q}`);
  }

  /**
   * Threads I follow (only those with unread replies when `unread`).
   * @returns {Promise<FollowedThread[]>}
   */
  async threads(unread = true) {
    const q = new URLSearchParams({ unread: String(unread), limit: "50" });
    return (await this.api.get(`/threads?${q}`)).threads;
  }

  /**
   * A room's pinned messages, the latest pin first.
   * @param {string} roomId
   * @returns {Promise<Message[]>}
   */
  async pins(roomId) {
    return (await this.api.get(`/rooms/${seg(roomId)}/pins`)).messages;
  }

  /**
   * Pin or unpin; the store changes when the event comes (message.pinned / unpinned).
   * @param {Message} m
   * @param {boolean} pin
   */
  async pin(m, pin) {
    if (pin) await this.api.put(`/messages/${seg(m.id)}/pin`);
    else await this.api.del(`/messages/${seg(m.id)}/pin`);
  }
}

/**
 * Seq ranges of a room known to hold no top-level message but those the timeline holds: what
 * pages of `top_level=true` history prove (the seqs between two top-level messages are thread
 * replies). A hole in the held seqs inside a covered range is not a gap to fill.
 */
export class Coverage {
  constructor() {
    /** @type {[number, number][]} disjoint, ascending, inclusive */
    this.ranges = [];
  }

  /**
   * @param {number} lo
   * @param {number} hi
   */
  add(lo, hi) {
    if (!(hi >= lo)) return;
    /** @type {[number, number][]} */
    const out = [];
    let [a, b] = [lo, hi];
    for (const [x, y] of this.ranges) {
      if (y + 1 < a || x > b + 1) out.push([x, y]);
      else [a, b] = [Math.min(a, x), Math.max(b, y)];
    }
    out.push([a, b]);
    this.ranges = out.sort((p, q) => p[0] - q[0]);
  }

  /**
   * Forget [lo, hi]: messages there were dropped from the timeline (see Timeline.trim), so the
   * timeline no longer holds every top-level message in it.
   * @param {number} lo
   * @param {number} hi
   */
  remove(lo, hi) {
    if (!(hi >= lo)) return;
    /** @type {[number, number][]} */
    const out = [];
    for (const [x, y] of this.ranges) {
      if (y < lo || x > hi) {
        out.push([x, y]);
        continue;
      }
      if (x < lo) out.push([x, lo - 1]);
      if (y > hi) out.push([hi + 1, y]);
    }
    this.ranges = out;
  }

  /**
   * Every seq in [lo, hi] is covered (an empty range is).
   * @param {number} lo
   * @param {number} hi
   */
  covers(lo, hi) {
    return hi < lo || this.ranges.some(([x, y]) => x <= lo && hi <= y);
  }
}

/**
 * The seqs a page of `top_level=true` history covers (see Coverage), or null.
 * @param {{after?: number, before?: number}} asked
 * @param {{messages: {seq: number}[], has_more_before: boolean, has_more_after: boolean}} page
 * @param {number} lastSeq  the room's newest seq as the store knows it now
 * @returns {[number, number] | null}
 */
export function pageCoverage(asked, page, lastSeq) {
  const seqs = page.messages.map((m) => m.seq);
  const first = seqs.length ? Math.min(...seqs) : null;
  const last = seqs.length ? Math.max(...seqs) : null;
  // Where it starts: after `after`; else its first message (or seq 1 when nothing is earlier).
  const lo = asked.after !== undefined ? asked.after + 1 : !page.has_more_before ? 1 : first;
  // Where it ends: before `before`; else its last message (or now, when nothing is later).
  // (With both, the server pages by `after` alone.)
  const hi =
    asked.before !== undefined && asked.after === undefined
      ? asked.before - 1
      : page.has_more_after
        ? last
        : Math.max(last ?? 0, lastSeq);
  return lo === null || hi === null || hi < lo ? null : [lo, hi];
}
