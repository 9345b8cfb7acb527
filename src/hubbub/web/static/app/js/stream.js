// The live event stream: one WebSocket that resumes from its cursor after any break, with
// exponential back-off and jitter, and a long-poll fallback where WebSockets are blocked.
//
// Every durable event carries its cursor (`id`); the stream remembers the last one it handed to
// `onEvents` and reconnects from it, so a break (sleep, network change, server restart) loses
// nothing. The server answers a cursor it cannot resume with {"type": "reset"} and close code
// 4410 (410 for long-poll): `onReset` then refetches state and returns a fresh cursor.
//
// The server may open a stream with {"type": "hello", "cursor": ...}: a sign of life, not an
// event, so it is neither handed on nor taken as the cursor (ours is already where to resume).
//
// The long-lived token never goes in a URL (proxies log URLs): before every WebSocket attempt
// the stream asks for a one-time ticket (POST /stream-tickets, with the token in the
// Authorization header, as every API request has it) and connects with `?ticket=`. A 401 there
// means the session is over. Close code 4401 says the stream's session ended (signed out
// elsewhere, revoked) or its ticket was refused: the next ticket request tells which, so a
// ticket that expired while the machine slept does not sign anyone out. Close code 4429 means
// this account has too many streams open (other tabs, devices): retry, but slowly.

import { ApiError, NetworkError } from "./api.js";
import { systemClock } from "./clock.js";

const CLOSE_UNAUTHENTICATED = 4401;
const CLOSE_RESET = 4410;
const CLOSE_SLOW = 4008;
const CLOSE_TOO_MANY = 4429;

const BACKOFF_BASE_MS = 500;
const BACKOFF_CAP_MS = 15000;
// Too many streams: one frees up when a tab closes, which takes minutes, not seconds.
const CROWDED_BACKOFF = { baseMs: 60000, capMs: 300000 };
const TICKET_TIMEOUT_MS = 10000;
const WS_FAILURES_BEFORE_FALLBACK = 3; // WebSocket never opened this many times in a row
const WS_RETRY_FROM_POLL_MS = 60000; // while on long-poll, try the WebSocket again this often
const SILENCE_LIMIT_MS = 75000; // the server pings every ~30 s; longer silence = dead socket
const TICK_MS = 5000;
const SLEEP_GAP_MS = 20000; // a timer this late means the machine slept
const POLL_TIMEOUT_S = 25;
const STABLE_MS = 10000; // a WebSocket open this long without a frame still counts as working

/**
 * Exponential back-off with "equal jitter": half fixed, half random.
 * @param {number} attempt  0 for the first retry
 * @param {() => number} [random]  in [0, 1)
 * @param {{baseMs: number, capMs: number}} [scale]  0.5 s doubling to 15 s unless given
 */
export function backoffDelay(
  attempt,
  random = Math.random,
  { baseMs, capMs } = { baseMs: BACKOFF_BASE_MS, capMs: BACKOFF_CAP_MS },
) {
  const exp = Math.min(capMs, baseMs * 2 ** attempt);
  return exp / 2 + random() * (exp / 2);
}

/**
 * The browser around a stream; tests replace any part of it.
 * @typedef {object} StreamEnv
 * @property {import("./clock.js").Clock} clock
 * @property {() => number} random  for back-off jitter
 * @property {{new (url: string): WebSocket, readonly OPEN: number}} WebSocket
 * @property {() => string} wsOrigin  "wss://host" for this page
 * @property {() => boolean} isOffline  the browser knows it has no network
 * @property {(fn: () => void) => () => void} watchOnline  call fn when the network returns;
 *   returns a function that stops watching
 * @property {(fn: () => void) => () => void} watchOffline  call fn when the network goes away
 */

/** @returns {StreamEnv} */
export function browserEnv() {
  return {
    clock: systemClock,
    random: Math.random,
    WebSocket: globalThis.WebSocket,
    wsOrigin: () => `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}`,
    isOffline: () => navigator.onLine === false,
    watchOnline(fn) {
      window.addEventListener("online", fn);
      return () => window.removeEventListener("online", fn);
    },
    watchOffline(fn) {
      window.addEventListener("offline", fn);
      return () => window.removeEventListener("offline", fn);
    },
  };
}

/**
 * @typedef {"stopped" | "connecting" | "live" | "reconnecting" | "offline" | "resetting"} StreamState
 * @typedef {"websocket" | "long-poll"} Transport
 */

/**
 * What onStatus is told at every change.
 * @typedef {object} StreamStatus
 * @property {StreamState} state
 * @property {Transport} transport
 * @property {number} attempt  retries since the stream last worked
 * @property {number} [retryAt]  when the next try is due (ms), while reconnecting
 * @property {"too-many-streams"} [reason]  why, when the server said (close code 4429)
 */

export class Stream {
  /**
   * @param {object} o
   * @param {Pick<import("./api.js").Api, "get" | "post">} o.api  sends the token (in the
   *   Authorization header): for tickets, long-polls and probes
   * @param {(events: import("./store.js").StreamEvent[]) => void} o.onEvents  durable and
   *   ephemeral events, in order
   * @param {() => Promise<string>} o.onReset  refetch state; resolve to a fresh cursor
   * @param {(status: StreamStatus) => void} o.onStatus
   * @param {() => void} o.onUnauthenticated  the session is over (the stream has stopped)
   * @param {Partial<StreamEnv>} [o.env]  the browser's by default
   */
  constructor(o) {
    this.api = o.api;
    this.onEvents = o.onEvents;
    this.onReset = o.onReset;
    this.onStatus = o.onStatus;
    this.onUnauthenticated = o.onUnauthenticated;
    this.env = { ...browserEnv(), ...o.env };
    this.clock = this.env.clock;
    this.cursor = ""; // set by start()
    /** @type {Transport} */
    this.mode = "websocket";
    /** @type {WebSocket | null} */
    this.ws = null;
    this.stopped = true;
    this.attempt = 0;
    this.wsFailures = 0;
    /** @type {number | null} */
    this.timer = null;
    /** @type {AbortController | null} */
    this.pollAbort = null;
    /** @type {AbortController | null} */
    this.ticketAbort = null;
    this.refusals = 0; // 4401 closes since the last frame
    this.pollSince = 0; // when long-polling last went live
    this.lastFrameAt = 0;
    this.lastTick = this.clock.now();
    /** @type {StreamState} */
    this.state = "stopped";
    this.tick = this.clock.setInterval(() => this._tick(), TICK_MS);
    this._unwatchOnline = this.env.watchOnline(() => this.reconnectNow());
    // An open WebSocket can take a minute to notice the network is gone: say so at once.
    this._unwatchOffline = this.env.watchOffline(() => this._wentOffline());
  }

  /**
   * Begin streaming from `cursor` (from the head cursor fetched before loading state).
   * @param {string} cursor
   */
  start(cursor) {
    this.cursor = cursor;
    this.stopped = false;
    this._connect();
  }

  stop() {
    this.stopped = true;
    this._teardown();
    this.clock.clearInterval(this.tick);
    this._unwatchOnline();
    this._unwatchOffline();
    this._status("stopped");
  }

  /** The browser lost the network: drop the connection and wait (online reconnects at once). */
  _wentOffline() {
    if (this.stopped || this.state === "resetting") return;
    this._teardown();
    this.attempt = 0;
    this._retryLater();
  }

  /** Drop the current connection (if any) and connect again at once. */
  reconnectNow() {
    if (this.stopped || this.state === "resetting") return;
    this.attempt = 0;
    this._teardown();
    this._connect();
  }

  /**
   * Tell the server I am typing in a room; false when no WebSocket is open to carry it.
   * @param {string} roomId
   */
  sendTyping(roomId) {
    if (this.ws && this.ws.readyState === this.env.WebSocket.OPEN) {
      this.ws.send(JSON.stringify({ type: "typing", room_id: roomId }));
      return true;
    }
    return false;
  }

  get transport() {
    return this.mode;
  }

  // -- internals ------------------------------------------------------------------------------

  /**
   * @param {StreamState} state
   * @param {{retryAt?: number, reason?: StreamStatus["reason"]}} [extra]
   */
  _status(state, extra = {}) {
    this.state = state;
    this.onStatus({ state, transport: this.mode, attempt: this.attempt, ...extra });
  }

  _teardown() {
    this.clock.clearTimeout(this.timer);
    this.timer = null;
    if (this.ws) {
      const ws = this.ws;
      this.ws = null;
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close(1000, "reconnecting");
      } catch {
        /* already closed */
      }
    }
    if (this.pollAbort) {
      this.pollAbort.abort();
      this.pollAbort = null;
    }
    if (this.ticketAbort) {
      this.ticketAbort.abort();
      this.ticketAbort = null;
    }
  }

  /** The session is over: stop for good and say so (no reconnecting). */
  _sessionEnded() {
    this.stop();
    this.onUnauthenticated();
  }

  _connect() {
    if (this.stopped) return;
    this._status(this.attempt === 0 && this.state !== "reconnecting" ? "connecting" : "reconnecting");
    if (this.mode === "websocket") this._openWebSocket();
    else this._poll();
  }

  /** @param {{crowded?: boolean}} [o]  crowded: the server has too many of our streams */
  _retryLater({ crowded = false } = {}) {
    if (this.stopped) return;
    const scale = crowded ? CROWDED_BACKOFF : undefined;
    const delay = backoffDelay(this.attempt, this.env.random, scale);
    this.attempt += 1;
    const offline = this.env.isOffline();
    /** @type {{retryAt: number, reason?: StreamStatus["reason"]}} */
    const extra = { retryAt: this.clock.now() + delay };
    if (crowded) extra.reason = "too-many-streams";
    this._status(offline ? "offline" : "reconnecting", extra);
    this.clock.clearTimeout(this.timer);
    this.timer = this.clock.setTimeout(() => this._connect(), delay);
  }

  /** @param {import("./store.js").StreamEvent[]} events */
  _deliver(events) {
    if (!events.length) return;
    this.onEvents(events);
    for (let i = events.length - 1; i >= 0; i--) {
      const id = events[i].id;
      if (id) {
        this.cursor = id;
        break;
      }
    }
  }

  /**
   * A fresh one-time ticket for the next WebSocket; null when there is none to use, and then
   * what happens next is already arranged (a retry, the end of the session, or nothing: the
   * stream was stopped or restarted meanwhile).
   * @returns {Promise<string | null>}
   */
  async _ticket() {
    const abort = new AbortController();
    this.ticketAbort = abort;
    try {
      const answer = await this.api.post("/stream-tickets", undefined, {
        signal: abort.signal,
        timeoutMs: TICKET_TIMEOUT_MS,
      });
      if (abort.signal.aborted || this.stopped) return null;
      this.ticketAbort = null;
      const ticket = answer && answer.ticket;
      if (typeof ticket === "string" && ticket) return ticket;
      this._retryLater(); // not what the API promises: a server in the middle of an upgrade?
      return null;
    } catch (err) {
      if (abort.signal.aborted || this.stopped) return null;
      this.ticketAbort = null;
      if (err instanceof ApiError && err.status === 401) {
        this._sessionEnded();
        return null;
      }
      if (err instanceof ApiError || err instanceof NetworkError) {
        this._retryLater({ crowded: err instanceof ApiError && err.code === "too_many_streams" });
        return null;
      }
      throw err;
    }
  }

  async _openWebSocket() {
    const ticket = await this._ticket();
    if (ticket === null) return;
    const query = new URLSearchParams({ since: this.cursor, ticket });
    let ws;
    try {
      ws = new this.env.WebSocket(`${this.env.wsOrigin()}/api/v1/stream?${query}`);
    } catch {
      this._webSocketFailed(false);
      return;
    }
    this.ws = ws;
    let openedAt = 0;
    let gotFrame = false;
    let resetAnnounced = false;
    ws.onopen = () => {
      openedAt = this.lastFrameAt = this.clock.now();
      this._status("live");
    };
    ws.onmessage = (e) => {
      this.lastFrameAt = this.clock.now();
      if (!gotFrame) {
        gotFrame = true;
        this.attempt = 0;
        this.wsFailures = 0;
        this.refusals = 0;
      }
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch {
        return;
      }
      if (msg.type === "ping" || msg.type === "hello") return;
      if (msg.type === "reset") {
        resetAnnounced = true;
        return;
      }
      this._deliver([msg]);
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (e.code === CLOSE_UNAUTHENTICATED) {
        this.refusals += 1;
        // Ask for a new ticket at once: refused (401) when the session is over. Granted, the
        // close was about the ticket; if the next one is refused too, back off instead of
        // hammering (the token works, so this is no reason to sign out).
        if (this.refusals === 1) this._connect();
        else this._retryLater();
      } else if (e.code === CLOSE_TOO_MANY) {
        this._retryLater({ crowded: true });
      } else if (e.code === CLOSE_RESET || resetAnnounced) {
        this._reset();
      } else if (e.code === CLOSE_SLOW) {
        this.attempt = 0;
        this._connect(); // the server dropped us for falling behind: resume from the cursor
      } else {
        // Never opened, or dropped at once without a single frame: something in the way
        // (a proxy that does not pass WebSockets) rather than a connection that lived.
        const worked = openedAt > 0 && (gotFrame || this.clock.now() - openedAt > STABLE_MS);
        this._webSocketFailed(worked);
      }
    };
  }

  /** @param {boolean} worked  it opened and carried frames (or stayed open a while) */
  async _webSocketFailed(worked) {
    if (worked) {
      this.attempt = 0;
      this.wsFailures = 0;
      this._retryLater();
      return;
    }
    this.wsFailures += 1;
    if (this.wsFailures >= WS_FAILURES_BEFORE_FALLBACK && (await this._httpWorks())) {
      // HTTP gets through but WebSockets do not (a proxy or firewall): long-poll instead.
      this.mode = "long-poll";
      this.attempt = 0;
      this._connect();
      return;
    }
    this._retryLater();
  }

  async _httpWorks() {
    try {
      await this.api.get("/events", { timeoutMs: 5000 });
      return true;
    } catch {
      return false;
    }
  }

  async _poll() {
    const abort = new AbortController();
    this.pollAbort = abort;
    const since = encodeURIComponent(this.cursor);
    // The first poll after (re)connecting answers at once, so "live" means the server took our
    // cursor; later ones wait for events.
    const wait = this.state === "live" ? POLL_TIMEOUT_S : 0;
    try {
      const page = await this.api.get(`/events?since=${since}&timeout=${wait}`, {
        signal: abort.signal,
        timeoutMs: (POLL_TIMEOUT_S + 10) * 1000,
      });
      if (abort.signal.aborted || this.stopped) return;
      this.lastFrameAt = this.clock.now();
      if (this.state !== "live") {
        this.attempt = 0;
        this.pollSince = this.clock.now();
        this._status("live");
      }
      this._deliver(page.events || []);
      if (page.next) this.cursor = page.next;
    } catch (err) {
      if (abort.signal.aborted || this.stopped) return;
      this.pollAbort = null;
      if (err instanceof ApiError && err.status === 410) return this._reset();
      if (err instanceof ApiError && err.status === 401) return this._sessionEnded();
      if (err instanceof ApiError && err.code === "too_many_streams") {
        return this._retryLater({ crowded: true });
      }
      if (err instanceof ApiError || err instanceof NetworkError) return this._retryLater();
      throw err;
    }
    this.pollAbort = null;
    if (this.stopped || this.mode !== "long-poll") return;
    if (this.clock.now() - this.pollSince > WS_RETRY_FROM_POLL_MS) {
      // Networks change: give the WebSocket another chance (one failure sends us back).
      this.mode = "websocket";
      this.wsFailures = WS_FAILURES_BEFORE_FALLBACK - 1;
      this._connect();
    } else {
      this._poll();
    }
  }

  async _reset() {
    this._teardown();
    this._status("resetting");
    try {
      this.cursor = await this.onReset();
      this.attempt = 0;
      this.state = "reconnecting";
      this._connect();
    } catch {
      this.state = "reconnecting";
      const delay = backoffDelay(this.attempt++, this.env.random);
      this.timer = this.clock.setTimeout(() => this._reset(), delay);
    }
  }

  _tick() {
    const now = this.clock.now();
    const slept = now - this.lastTick > SLEEP_GAP_MS;
    this.lastTick = now;
    if (this.stopped || this.state !== "live") return;
    const silent = this.mode === "websocket" && now - this.lastFrameAt > SILENCE_LIMIT_MS;
    if (slept || silent) this.reconnectNow();
  }
}
