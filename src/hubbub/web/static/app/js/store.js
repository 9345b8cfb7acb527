// Client state and how each server event changes it.
//
// Every change is idempotent, because an event can arrive twice (a snapshot fetched after it was
// committed, then the event itself; or a replay after reconnecting): messages are keyed by their
// gapless per-room `seq`; a room's unread count only grows for a seq above its `last_seq`; read
// markers and edits only move forward. Reaction events are deltas, so one that may already be in
// a snapshot is not applied but triggers a refetch of that message (see `_reaction`).
//
// Beyond rooms and messages it holds what the people around me look like now (display names
// change: user.updated), the public rooms I can join (room.created adds them live), whether I
// am muted in a room, the notice to show when I was removed or banned from one, and the lists
// the settings screens show (my sessions, a room's bans).

import {
  applyConversationEvent,
  countCreatedMention,
  Coverage,
  mentionsMe,
  onlyInThread,
  uncountDeletedMention,
} from "./conversations.js";
import { isPublicRoom } from "./roles.js";

const AMBIGUITY_MS = 2000; // an event's ts vs a snapshot's Date header (1 s resolution)

// The API's shapes (shapes.js), under the names the rest of the client uses.
/**
 * @typedef {import("./shapes.js").User} User
 * @typedef {import("./shapes.js").Author} Author
 * @typedef {import("./shapes.js").Reaction} Reaction
 * @typedef {import("./shapes.js").Message} Message
 * @typedef {import("./shapes.js").Room} Room
 * @typedef {import("./shapes.js").Member} Member
 * @typedef {import("./shapes.js").Ban} Ban
 * @typedef {import("./shapes.js").SessionInfo} SessionInfo
 * @typedef {import("./shapes.js").Notice} Notice
 * @typedef {import("./shapes.js").StreamEvent} StreamEvent
 * @typedef {import("./shapes.js").HeldMessage} HeldMessage
 */

/**
 * A slash command's answer shown only to me (a command.reply event, #19).
 * @typedef {{command: string, text: string, ts: string}} CommandReply
 */

/**
 * @typedef {"rooms" | "timeline" | "typing" | "presence" | "members" | "roster" | "me" | "bans"
 *   | "sessions" | "notice" | "thread" | "pins" | "commands"} StoreEventKind
 */

/**
 * What the store asks of the client when it cannot be sure from events alone.
 * @typedef {object} StoreHooks
 * @property {(roomId: string) => void} refetchRoom
 * @property {(messageId: string) => void} refetchMessage
 * @property {(roomId: string) => void} fillGaps
 */

/**
 * What a batch of events changed, to notify each kind once.
 * @typedef {object} Touched
 * @property {boolean} rooms
 * @property {Set<string>} timelines
 * @property {boolean} typing
 * @property {boolean} presence
 * @property {boolean} me
 * @property {Set<string>} rosters  rooms whose member list (as held) changed
 * @property {Set<string>} bans  rooms whose ban list (as held) changed
 * @property {boolean} notice
 */

export class Timeline {
  /** @param {string} roomId */
  constructor(roomId) {
    this.roomId = roomId;
    /** @type {Map<number, HeldMessage>} */
    this.bySeq = new Map();
    this.loaded = false; // a first page has been fetched (the newest, or at the first unread)
    this.hasMoreBefore = false;
    this.loadingOlder = false;
    // A window that does not reach the newest message (opened at the first unread of a big
    // room, or trimmed): live messages past it are not held; scrolling down loads them.
    this.hasMoreAfter = false;
    this.loadingNewer = false;
    this.version = 0;
    /** #17: seqs known to be thread replies only (the main timeline pages by top_level=true) */
    this.covered = new Coverage();
  }

  /**
   * Keep at most `n` messages, dropping those furthest from the end that is read now, so a long
   * scroll keeps the page small. Dropped ones are fetched again if scrolled back to.
   * @param {number} n
   * @param {"oldest" | "newest"} keep  which end to keep
   * @returns {boolean} whether anything was dropped
   */
  trim(n, keep) {
    if (this.bySeq.size <= n) return false;
    const seqs = [...this.bySeq.keys()].sort((a, b) => a - b);
    const drop = keep === "oldest" ? seqs.slice(n) : seqs.slice(0, seqs.length - n);
    for (const seq of drop) this.bySeq.delete(seq);
    // #17: what was proved about the dropped end held true only with those messages held.
    if (keep === "oldest") this.covered.remove(seqs[n - 1] + 1, Infinity);
    else this.covered.remove(1, seqs[seqs.length - n] - 1);
    if (keep === "oldest") this.hasMoreAfter = true;
    else this.hasMoreBefore = true;
    this.version++;
    return true;
  }
  /** Drop every message held (a window elsewhere is loaded next), and what pages proved. */
  clear() {
    this.bySeq.clear();
    this.covered = new Coverage();
  }
  get minSeq() {
    let min = Infinity;
    for (const seq of this.bySeq.keys()) if (seq < min) min = seq;
    return min === Infinity ? 0 : min;
  }
  get maxSeq() {
    let max = 0;
    for (const seq of this.bySeq.keys()) if (seq > max) max = seq;
    return max;
  }
  /** Messages ascending by seq. */
  list() {
    return [...this.bySeq.values()].sort((a, b) => a.seq - b.seq);
  }
  /** @param {string} id */
  byId(id) {
    for (const m of this.bySeq.values()) if (m.id === id) return m;
    return null;
  }
  /**
   * [after, before) ranges of seqs missing between the lowest and highest held.
   * @returns {[number, number][]}
   */
  gaps() {
    /** @type {[number, number][]} */
    const out = [];
    const seqs = [...this.bySeq.keys()].sort((a, b) => a - b);
    for (let i = 1; i < seqs.length; i++) {
      if (seqs[i] !== seqs[i - 1] + 1 && !this.covered.covers(seqs[i - 1] + 1, seqs[i] - 1)) {
        out.push([seqs[i - 1], seqs[i]]);
      }
    }
    return out;
  }
}

export class Store extends EventTarget {
  /** @param {StoreHooks} hooks */
  constructor(hooks) {
    super();
    this.hooks = hooks;
    /** @type {User | null} */
    this.me = null;
    /** @type {Map<string, Room>} */
    this.rooms = new Map();
    /** @type {Room[]} public rooms I am not in (their member fields are null) */
    this.publicRooms = [];
    /** @type {Map<string, Timeline>} */
    this.timelines = new Map();
    /** @type {Map<string, Map<string, {name: string, expires: number}>>} room -> user -> typist */
    this.typing = new Map();
    /** @type {Map<string, boolean>} username (lower case) -> online */
    this.online = new Map();
    /** @type {Map<string, Message>} message id -> message, for replies outside loaded pages */
    this.replyCache = new Map();
    /** @type {Map<string, Member[]>} room -> its members, as last fetched (the members panel) */
    this.members = new Map();
    /** @type {Set<string>} rooms I am muted in (as the server last said) */
    this.mutedIn = new Set();
    /** @type {Map<string, Ban[]>} room -> its bans, as last fetched (room settings) */
    this.bans = new Map();
    /** @type {SessionInfo[] | null} my sessions, as last fetched (account settings) */
    this.sessions = null;
    /** @type {Notice | null} the latest thing to tell me, until dismissed */
    this.notice = null;
    /** @type {Map<string, CommandReply[]>} room -> slash commands' answers for me (#19), newest last */
    this.commandReplies = new Map();
  }

  /**
   * Forget the command answers shown in a room (dismissed).
   * @param {string} roomId
   */
  dismissCommandReplies(roomId) {
    if (this.commandReplies.delete(roomId)) this.emit("commands", { roomId });
  }

  /**
   * "members": a room's membership changed (fetch it again); "roster": a fetched member list
   * arrived (setMembers) or changed; "me": my own account changed; "notice": see `notice`.
   * @param {StoreEventKind} kind
   * @param {{roomId: string}} [detail]
   */
  emit(kind, detail) {
    this.dispatchEvent(new CustomEvent(kind, { detail }));
  }

  // -- snapshots from the API -----------------------------------------------------------------

  /** @param {Room[]} list */
  setRooms(list) {
    const seen = new Set();
    for (const room of list) {
      seen.add(room.id);
      this.mergeRoom(room);
    }
    for (const id of [...this.rooms.keys()]) if (!seen.has(id)) this.rooms.delete(id);
    for (const id of [...this.mutedIn]) if (!seen.has(id)) this.mutedIn.delete(id);
    this.emit("rooms");
  }

  /**
   * A room body from the API: take its counts unless our events are newer than it.
   * @param {Room} room
   */
  mergeRoom(room) {
    const have = this.rooms.get(room.id);
    if (!have) {
      this.rooms.set(room.id, { ...room });
      return;
    }
    const { last_seq, last_read_seq, unread_count, mention_count, ...rest } = room;
    Object.assign(have, rest);
    if (last_seq >= have.last_seq) {
      Object.assign(have, { last_seq, last_read_seq, unread_count, mention_count });
    } else {
      this.hooks.refetchRoom(room.id); // older than events we applied: ask again
    }
  }

  /**
   * A room's member list as fetched.
   * @param {string} roomId
   * @param {Member[]} members
   */
  setMembers(roomId, members) {
    this.members.set(roomId, members);
    const mine = this.me && members.find((m) => m.user.id === this.me?.id);
    const mutedBefore = this.mutedIn.has(roomId);
    if (mine) this._setMuted(roomId, !!mine.muted);
    this.emit("roster", { roomId });
    if (this.mutedIn.has(roomId) !== mutedBefore) this.emit("rooms");
  }

  /**
   * A room's bans as fetched.
   * @param {string} roomId
   * @param {Ban[]} bans
   */
  setBans(roomId, bans) {
    this.bans.set(roomId, bans);
    this.emit("bans", { roomId });
  }

  /** @param {SessionInfo[]} sessions */
  setSessions(sessions) {
    this.sessions = sessions;
    this.emit("sessions");
  }

  /**
   * One of my sessions was signed out (by me, from this page).
   * @param {string} id
   */
  dropSession(id) {
    if (!this.sessions) return;
    this.sessions = this.sessions.filter((s) => s.id !== id);
    this.emit("sessions");
  }

  /**
   * My own account as the API answered (a new display name, say).
   * @param {User} user
   */
  setMe(user) {
    if (!this.me) this.me = user;
    else Object.assign(this.me, user); // the session holds the same object
    this.emit("me");
  }

  /**
   * The server refused a write with 403 `muted`: I am muted there, whatever we thought.
   * @param {string} roomId
   */
  noteMuted(roomId) {
    if (this.mutedIn.has(roomId)) return;
    this._setMuted(roomId, true);
    this.emit("rooms");
  }

  /** @param {string} roomId */
  isMuted(roomId) {
    return this.mutedIn.has(roomId);
  }

  dismissNotice() {
    if (!this.notice) return;
    this.notice = null;
    this.emit("notice");
  }

  /**
   * @param {string} roomId
   * @param {boolean} muted
   */
  _setMuted(roomId, muted) {
    if (muted) this.mutedIn.add(roomId);
    else this.mutedIn.delete(roomId);
  }

  /** @param {Room[]} list */
  setPublicRooms(list) {
    this.publicRooms = list.filter((r) => !this.rooms.has(r.id));
    this.emit("rooms");
  }

  /** @param {string} roomId */
  timeline(roomId) {
    let t = this.timelines.get(roomId);
    if (!t) {
      t = new Timeline(roomId);
      this.timelines.set(roomId, t);
    }
    return t;
  }

  /**
   * A page of history (or a single message) fetched at server time `date` (ms, or NaN).
   * @param {string} roomId
   * @param {Message[]} messages
   * @param {number} date
   * @param {boolean} [extend]  a page past the window's newest (scrolling down): hold it
   */
  mergeMessages(roomId, messages, date, extend = false) {
    const t = this.timeline(roomId);
    const end = t.maxSeq;
    for (const m of messages) {
      if (t.hasMoreAfter && !extend && m.seq > end) continue; // past the window
      this._mergeSnapshot(t, m, date);
    }
    t.version++;
    if (t.gaps().length) this.hooks.fillGaps(roomId);
    this.emit("timeline", { roomId });
  }

  /**
   * @param {Timeline} t
   * @param {Message} m
   * @param {number} date
   */
  _mergeSnapshot(t, m, date) {
    const have = t.bySeq.get(m.seq);
    const next = { ...m, _snapAt: date, _evAt: have ? have._evAt : -Infinity };
    if (have) {
      if (have.deleted) Object.assign(next, { deleted: true, text: "", reactions: [] });
      if (have.edited_at && (!next.edited_at || have.edited_at > next.edited_at)) {
        next.text = have.text;
        next.edited_at = have.edited_at;
      }
      // A reaction event we applied may be newer than this snapshot: make sure.
      if (have._evAt > -Infinity && !(have._evAt < date - AMBIGUITY_MS)) {
        this.hooks.refetchMessage(m.id);
      }
    }
    t.bySeq.set(m.seq, next);
    this.replyCache.delete(m.id);
  }

  /**
   * Insert a message we know is committed (an answer to our own send), if absent.
   * @param {Message} message
   */
  addSent(message) {
    this._created(message);
    this.emit("timeline", { roomId: message.room_id });
    this.emit("rooms");
  }

  /**
   * @param {string} id
   * @returns {Message | null}
   */
  findMessage(id) {
    for (const t of this.timelines.values()) {
      const m = t.byId(id);
      if (m) return m;
    }
    return this.replyCache.get(id) || null;
  }

  // -- live events ----------------------------------------------------------------------------

  /**
   * Apply a batch of stream events in order; emits one notification per kind touched.
   * @param {StreamEvent[]} events
   */
  applyEvents(events) {
    /** @type {Touched} */
    const touched = {
      rooms: false,
      timelines: new Set(),
      typing: false,
      presence: false,
      me: false,
      rosters: new Set(),
      bans: new Set(),
      notice: false,
    };
    /** @type {Set<string>} */
    const members = new Set();
    for (const ev of events) {
      const d = ev.data || {};
      switch (ev.type) {
        case "message.created":
          this._created(d);
          this._stopTyping(d.room_id, d.author && d.author.id);
          touched.rooms = true;
          touched.typing = true;
          touched.timelines.add(d.room_id);
          break;
        case "message.updated":
          this._updated(d);
          touched.timelines.add(d.room_id);
          break;
        case "message.deleted":
          this._deleted(d);
          touched.rooms = true;
          touched.timelines.add(d.room_id);
          break;
        case "reaction.added":
        case "reaction.removed":
          this._reaction(d, ev.type === "reaction.added", Date.parse(ev.ts ?? ""));
          touched.timelines.add(d.room_id);
          break;
        case "room.updated":
          this._roomUpdated(d);
          touched.rooms = true;
          break;
        case "member.joined":
        case "member.left":
        case "member.updated": {
          const roomId = /** @type {string} */ (ev.room_id); // member events name their room
          if (this._membership(ev.type, roomId, d)) touched.notice = true;
          members.add(roomId);
          touched.rooms = true;
          break;
        }
        case "room.created":
          this._roomCreated(d);
          touched.rooms = true;
          break;
        case "user.updated":
          this._userUpdated(d, touched);
          break;
        case "read.updated":
          this._read(d);
          touched.rooms = true;
          break;
        case "notifications.updated": {
          // #18: my level or mute in a room changed (here or on another device)
          const room = this.rooms.get(d.room_id);
          if (room) {
            room.notification_level = d.notification_level;
            room.notifications_muted_until = d.notifications_muted_until;
          }
          touched.rooms = true;
          break;
        }
        case "typing":
          this._typing(ev, d);
          touched.typing = true;
          touched.presence = true;
          break;
        case "presence":
          this.online.set(String(d.user).toLowerCase(), !!d.online);
          touched.presence = true;
          break;
        case "command.reply": {
          // #19: a slash command's answer (or a help line), for my eyes only, never stored.
          if (!ev.room_id) break;
          const list = this.commandReplies.get(ev.room_id) || [];
          list.push({ command: String(d.command), text: String(d.text), ts: String(ev.ts) });
          this.commandReplies.set(ev.room_id, list.slice(-5));
          this.emit("commands", { roomId: ev.room_id });
          break;
        }
        case "session.revoked":
          // Sessions that ended. If this page's is among them its stream is closed (4401)
          // and the client signs out from there; the page holds nothing of the others.
          break;
        default:
          applyConversationEvent(this, ev, touched); // #17: threads, pins (conversations.js)
          break; // other unknown types are for newer clients
      }
    }
    if (touched.me) this.emit("me");
    if (touched.rooms) this.emit("rooms");
    for (const roomId of touched.timelines) this.emit("timeline", { roomId });
    if (touched.typing) this.emit("typing");
    if (touched.presence) this.emit("presence");
    for (const roomId of touched.rosters) this.emit("roster", { roomId });
    for (const roomId of touched.bans) this.emit("bans", { roomId });
    for (const roomId of members) this.emit("members", { roomId });
    if (touched.notice) this.emit("notice");
  }

  /** @param {Message} m */
  _created(m) {
    const room = this.rooms.get(m.room_id);
    if (room && m.seq > room.last_seq) {
      room.last_seq = m.seq;
      const mine = this.me && m.author && m.author.id === this.me.id;
      if (!mine && !m.deleted && m.seq > (room.last_read_seq || 0)) {
        if (!onlyInThread(m)) room.unread_count += 1; // #17: as the server counts
        countCreatedMention(this, m); // #17: a mention counts in a thread too
      }
    }
    const t = this.timelines.get(m.room_id);
    if (!t || t.bySeq.has(m.seq)) return;
    if (t.hasMoreAfter && m.seq > t.maxSeq) return; // past the window: loaded when scrolled to
    t.bySeq.set(m.seq, { ...m, _snapAt: -Infinity, _evAt: -Infinity });
    t.version++;
    if (t.loaded && t.gaps().length) this.hooks.fillGaps(m.room_id);
  }

  /** @param {{room_id: string, seq: number, text: string, edited_at: string, mentions?: Message["mentions"]}} d */
  _updated(d) {
    const m = this._message(d.room_id, d.seq);
    if (!m || m.deleted) return;
    if (m.edited_at && m.edited_at > d.edited_at) return;
    m.text = d.text;
    m.edited_at = d.edited_at;
    if (d.mentions) {
      // #17: an edit that adds or removes a mention of me changes the room's mention count.
      const before = mentionsMe(m, this.me);
      m.mentions = d.mentions;
      const room = this.rooms.get(d.room_id);
      if (room && before !== mentionsMe(m, this.me) && m.seq > (room.last_read_seq || 0)) this.hooks.refetchRoom(d.room_id);
    }
  }

  /** @param {{room_id: string, seq: number}} d */
  _deleted(d) {
    const m = this._message(d.room_id, d.seq);
    const room = this.rooms.get(d.room_id);
    if (m) {
      if (m.deleted) return;
      const mine = this.me && m.author && m.author.id === this.me.id;
      if (room && !mine && d.seq > (room.last_read_seq || 0) && d.seq <= room.last_seq) {
        if (!onlyInThread(m)) room.unread_count = Math.max(0, room.unread_count - 1);
        if (d.seq <= room.last_seq) uncountDeletedMention(this, m); // #17
      }
      Object.assign(m, { deleted: true, text: "", reactions: [] });
    } else if (room && d.seq > (room.last_read_seq || 0)) {
      this.hooks.refetchRoom(d.room_id); // we cannot tell whether it was counted
    }
  }

  /**
   * @param {{room_id: string, seq: number, emoji: string, user_id: string}} d
   * @param {boolean} added
   * @param {number} ts  when the server applied it (ms), or -Infinity for my own, unconfirmed
   */
  _reaction(d, added, ts) {
    const m = this._message(d.room_id, d.seq);
    if (!m || m.deleted) return;
    m._evAt = Math.max(m._evAt, ts);
    const mine = this.me && d.user_id === this.me.id;
    let r = m.reactions.find((x) => x.emoji === d.emoji);
    if (mine) {
      // `me` makes my own reactions idempotent: apply only a real change.
      if (added === !!(r && r.me)) return;
    } else if (!(ts >= m._snapAt + AMBIGUITY_MS)) {
      // The snapshot we hold may already count this one: ask the server instead of guessing.
      this.hooks.refetchMessage(m.id);
      return;
    }
    if (added) {
      if (!r) m.reactions.push((r = { emoji: d.emoji, count: 0, me: false }));
      r.count += 1;
      if (mine) r.me = true;
    } else if (r) {
      r.count -= 1;
      if (mine) r.me = false;
      if (r.count <= 0) m.reactions = m.reactions.filter((x) => x !== r);
    }
  }

  /**
   * My own reaction, shown before the server confirms it.
   * @param {Message} m
   * @param {string} emoji
   * @param {boolean} add
   */
  toggleOwnReaction(m, emoji, add) {
    if (!this.me) return;
    this._reaction(
      { room_id: m.room_id, seq: m.seq, emoji, user_id: this.me.id },
      add,
      -Infinity,
    );
    this.emit("timeline", { roomId: m.room_id });
  }

  /** @param {Partial<Room> & {id: string}} d */
  _roomUpdated(d) {
    const room = this.rooms.get(d.id);
    if (!room) return;
    const fields = /** @type {Record<string, unknown>} */ (room);
    const changes = /** @type {Record<string, unknown>} */ (d);
    for (const key of ["name", "topic", "visibility", "member_count", "avatar_url"]) { // avatar_url: #19 web client
      if (key in changes) fields[key] = changes[key];
    }
  }

  /**
   * A membership event; returns true if it set a notice for me.
   * @param {string} type
   * @param {string} roomId
   * @param {{user?: User, role?: Room["my_role"], room?: Room, muted?: boolean,
   *   how?: "left" | "removed" | "banned"}} d
   */
  _membership(type, roomId, d) {
    const user = d.user || /** @type {Partial<User>} */ ({});
    const isMe = this.me && user.id === this.me.id;
    if (type === "member.joined" && isMe) {
      if (!this.rooms.has(roomId) && d.room) {
        const r = d.room;
        this.rooms.set(roomId, {
          ...r,
          my_role: d.role,
          last_read_seq: r.last_seq,
          unread_count: 0,
        });
      }
      this.publicRooms = this.publicRooms.filter((r) => r.id !== roomId);
      this.mutedIn.delete(roomId);
      this.hooks.refetchRoom(roomId); // exact read marker and unread count
    } else if (type === "member.left" && isMe) {
      return this._left(roomId, d.how || "left");
    } else if (type === "member.updated" && isMe) {
      const room = this.rooms.get(roomId);
      if (room) room.my_role = d.role;
      if (room && typeof d.muted === "boolean") this._setMuted(roomId, d.muted);
    } else if (this.rooms.has(roomId)) {
      this.hooks.refetchRoom(roomId); // member_count
    }
    return false;
  }

  /**
   * I am out of a room: I left (here or on another device), or was removed or banned. A room
   * I was taken out of says so (a notice), rather than just vanishing from the list; a public
   * room I may join again goes back among the public rooms. Returns true if it set a notice.
   * @param {string} roomId
   * @param {"left" | "removed" | "banned"} how
   */
  _left(roomId, how) {
    const room = this.rooms.get(roomId);
    this.rooms.delete(roomId);
    this.timelines.delete(roomId);
    this.typing.delete(roomId);
    this.members.delete(roomId);
    this.bans.delete(roomId);
    this.mutedIn.delete(roomId);
    if (!room) return false; // already gone: told once is enough
    if (isPublicRoom(room) && how !== "banned" && !this.publicRooms.some((r) => r.id === roomId)) {
      const pub = { ...room, member_count: Math.max(0, room.member_count - 1) };
      delete pub.my_role; // as the API lists public rooms: without my fields
      this.publicRooms.push({ ...pub, last_read_seq: 0, unread_count: 0 });
    }
    if (how === "left") return false;
    const name = room.kind === "dm" ? room.name : `#${room.name}`;
    this.notice = {
      kind: how,
      roomId,
      text: how === "banned" ? `You were banned from ${name}.` : `You were removed from ${name}.`,
    };
    return true;
  }

  /**
   * A public room was made: one more to join (mine, if I made it, comes by member.joined).
   * @param {Room} room
   */
  _roomCreated(room) {
    if (!room || !room.id || !isPublicRoom(room) || this.rooms.has(room.id)) return;
    if (this.publicRooms.some((r) => r.id === room.id)) return;
    this.publicRooms.push({ ...room, last_read_seq: 0, unread_count: 0 });
  }

  /**
   * Someone changed their display name: everywhere the page shows them, from now on. (Message
   * authors are people, not names frozen at send time: the API shows their current name too.)
   * @param {User} user
   * @param {Touched} touched
   */
  _userUpdated(user, touched) {
    if (!user || !user.id) return;
    if (this.me && user.id === this.me.id) {
      Object.assign(this.me, user);
      touched.me = true;
    }
    /** @param {User | Author} person */
    const renamed = (person) => !!person && person.id === user.id && person.display_name !== user.display_name;
    for (const [roomId, members] of this.members) {
      for (const m of members) {
        // #15: a new picture too (a message's author has none: views/avatar.js looks here)
        const repictured = m.user && m.user.id === user.id && "avatar_url" in user && m.user.avatar_url !== user.avatar_url;
        if (renamed(m.user) || repictured) {
          m.user = { ...m.user, display_name: user.display_name, avatar_url: "avatar_url" in user ? user.avatar_url : m.user.avatar_url };
          touched.rosters.add(roomId);
        }
      }
    }
    for (const [roomId, bans] of this.bans) {
      for (const b of bans) {
        if (renamed(b.user)) {
          b.user = { ...b.user, display_name: user.display_name };
          touched.bans.add(roomId);
        }
      }
    }
    for (const t of this.timelines.values()) {
      let changed = false;
      for (const m of t.bySeq.values()) {
        if (renamed(m.author)) {
          m.author = { ...m.author, display_name: user.display_name };
          changed = true;
        }
      }
      if (changed) {
        t.version++;
        touched.timelines.add(t.roomId);
      }
    }
    for (const m of this.replyCache.values()) {
      if (renamed(m.author)) {
        m.author = { ...m.author, display_name: user.display_name };
        touched.timelines.add(m.room_id);
      }
    }
  }

  /** @param {{room_id: string, last_read_seq: number, unread_count: number, mention_count?: number}} d */
  _read(d) {
    const room = this.rooms.get(d.room_id);
    if (!room || d.last_read_seq < (room.last_read_seq || 0)) return;
    room.last_read_seq = d.last_read_seq;
    room.unread_count = d.unread_count;
    if (typeof d.mention_count === "number") room.mention_count = d.mention_count;
  }

  /**
   * Moved my read marker locally (the server confirms with read.updated).
   * @param {string} roomId
   * @param {number} seq
   */
  markReadLocally(roomId, seq) {
    const room = this.rooms.get(roomId);
    if (!room || seq <= (room.last_read_seq || 0)) return;
    room.last_read_seq = seq;
    if (seq >= room.last_seq) {
      room.unread_count = 0;
      room.mention_count = 0;
    } else {
      // Exact when every message after the marker is held; else read.updated will say.
      const t = this.timelines.get(roomId);
      if (t && t.minSeq <= seq + 1 && t.maxSeq >= room.last_seq && !t.gaps().length) {
        let n = 0;
        let mentions = 0;
        for (const m of t.bySeq.values()) {
          const mine = m.author && m.author.id === this.me?.id;
          if (m.seq > seq && !m.deleted && !mine && !onlyInThread(m)) n += 1;
          if (m.seq > seq && mentionsMe(m, this.me)) mentions += 1; // #17
        }
        room.unread_count = n;
        room.mention_count = mentions;
      }
    }
    this.emit("rooms");
  }

  /**
   * @param {StreamEvent} ev
   * @param {{user_id: string, user: string, until: string}} d
   */
  _typing(ev, d) {
    const roomId = ev.room_id;
    if (!roomId || !d.user_id) return;
    const span = Date.parse(d.until) - Date.parse(ev.ts ?? "");
    const ms = Number.isFinite(span) && span > 0 ? Math.min(span, 15000) : 6000;
    let typists = this.typing.get(roomId);
    if (!typists) this.typing.set(roomId, (typists = new Map()));
    typists.set(d.user_id, { name: d.user, expires: Date.now() + ms });
    this.online.set(String(d.user).toLowerCase(), true);
  }

  /**
   * @param {string} roomId
   * @param {string | null | undefined} userId
   */
  _stopTyping(roomId, userId) {
    const room = this.typing.get(roomId);
    if (room && userId) room.delete(userId);
  }

  /**
   * Names typing in a room now (expired entries are dropped).
   * @param {string} roomId
   */
  typingIn(roomId) {
    const room = this.typing.get(roomId);
    if (!room) return [];
    const now = Date.now();
    const names = [];
    for (const [id, t] of room) {
      if (t.expires <= now) room.delete(id);
      else names.push(t.name);
    }
    return names;
  }

  /**
   * @param {string} roomId
   * @param {number} seq
   */
  _message(roomId, seq) {
    const t = this.timelines.get(roomId);
    return t ? t.bySeq.get(seq) || null : null;
  }

  /**
   * Everyone the page knows of in a room: the authors of the messages held and of the
   * messages they reply to, and its members when their list was fetched. (For telling people
   * with look-alike display names apart: names.js.)
   * @param {string} roomId
   * @returns {Author[]}
   */
  peopleIn(roomId) {
    /** @type {Author[]} */
    const people = [];
    const t = this.timelines.get(roomId);
    if (t) for (const m of t.bySeq.values()) people.push(m.author);
    for (const m of this.replyCache.values()) if (m.room_id === roomId) people.push(m.author);
    for (const member of this.members.get(roomId) || []) people.push(member.user);
    return people;
  }

  /**
   * The other person in a DM (its name is the two usernames, sorted, joined by ", ").
   * @param {Room | null | undefined} room
   */
  dmPartner(room) {
    if (!room || room.kind !== "dm" || !this.me) return null;
    const names = room.name.split(", ");
    const mine = this.me.username.toLowerCase();
    return names.find((n) => n.toLowerCase() !== mine) || names[0];
  }

  /** @param {string | null | undefined} username */
  isOnline(username) {
    if (!username) return false;
    if (this.me && username.toLowerCase() === this.me.username.toLowerCase()) return true;
    return this.online.get(username.toLowerCase()) === true;
  }

  totalUnread() {
    let n = 0;
    for (const r of this.rooms.values()) n += r.unread_count || 0;
    return n;
  }
}
