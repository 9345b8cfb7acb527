// The live stream: resumes from the last cursor it delivered after any break, backs off with
// jitter while the server is unreachable, refetches on reset, and falls back to long-polling
// where WebSockets do not get through; every WebSocket opens with a fresh one-time ticket, never
// the token. Driven on a fake clock with a fake WebSocket.

import "./web-globals.js";

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, NetworkError } from "../../src/hubbub/web/static/app/js/api.js";
import { Stream, backoffDelay } from "../../src/hubbub/web/static/app/js/stream.js";
import { FakeClock, fakeWebSocketClass, flush } from "./fakes.js";

const TOKEN = "the-long-lived-token";

/**
 * An API whose GETs wait until the test answers them; an aborted one rejects like fetch. Ticket
 * requests (POST /stream-tickets) are answered at once with tk-1, tk-2, ... unless `manual`:
 * then they wait in `posts` too. The real Api sends TOKEN in a header; the stream never sees it.
 */
function fakeApi({ manual = false } = {}) {
  const gets = [];
  const posts = [];
  const issued = [];
  const abortable = (opts, reject) =>
    opts.signal?.addEventListener("abort", () => reject(new DOMException("aborted", "AbortError")));
  return {
    gets,
    posts,
    issued,
    token: TOKEN,
    get(path, opts = {}) {
      return new Promise((resolve, reject) => {
        gets.push({ path, query: new URL(path, "http://x").searchParams, resolve, reject });
        abortable(opts, reject);
      });
    },
    post(path, body, opts = {}) {
      const grant = () => {
        const ticket = `tk-${issued.length + 1}`;
        issued.push(ticket);
        return { ticket, expires_at: "2026-01-01T00:00:30Z" };
      };
      if (!manual) {
        posts.push({ path, body, answered: true });
        return Promise.resolve(grant());
      }
      return new Promise((resolve, reject) => {
        posts.push({ path, body, grant: () => resolve(grant()), reject, signal: opts.signal });
        abortable(opts, reject);
      });
    },
  };
}

function makeStream({ random = 0, offline: startOffline = false, resetCursor = "fresh", manualTickets = false } = {}) {
  let offline = startOffline;
  const clock = new FakeClock();
  const api = fakeApi({ manual: manualTickets });
  const { FakeWebSocket, sockets } = fakeWebSocketClass();
  const got = { events: [], statuses: [], resets: 0, unauthenticated: 0, failResets: 0 };
  const online = { watchers: 0, fire: () => {}, fireOffline: () => {} };
  const stream = new Stream({
    api,
    onEvents: (events) => got.events.push(...events),
    onReset: async () => {
      got.resets += 1;
      if (got.failResets > 0) {
        got.failResets -= 1;
        throw new NetworkError("network error");
      }
      return resetCursor;
    },
    onStatus: (s) => got.statuses.push(s),
    onUnauthenticated: () => (got.unauthenticated += 1),
    env: {
      clock,
      random: () => random,
      WebSocket: FakeWebSocket,
      wsOrigin: () => "ws://chat.test",
      isOffline: () => offline,
      watchOnline(fn) {
        online.watchers += 1;
        online.fire = fn;
        return () => (online.watchers -= 1);
      },
      watchOffline(fn) {
        online.watchers += 1;
        online.fireOffline = () => {
          offline = true;
          fn();
        };
        return () => (online.watchers -= 1);
      },
    },
  });
  const last = () => sockets[sockets.length - 1];
  const state = () => got.statuses[got.statuses.length - 1];
  /** Start from `cursor` and let the ticket request be answered. */
  const start = async (cursor) => {
    stream.start(cursor);
    await flush();
  };
  return { stream, clock, api, sockets, got, online, last, state, start };
}

/** A WebSocket that opened and carried a frame: the connection worked. */
function live(socket) {
  socket.serverOpen();
  socket.serverSend({ type: "ping" });
}

/** Fail WebSockets until the stream asks whether plain HTTP gets through (the third time). */
async function failWebSocketsUntilProbe(s) {
  for (let i = 0; i < 3; i++) {
    s.last().serverClose(1006); // never opened
    await flush();
    if (i < 2) await s.clock.advance(s.clock.pendingTimeouts()[0]);
  }
  assert.equal(s.api.gets.length, 1);
  assert.equal(s.api.gets[0].path, "/events");
}

const event = (id, type = "message.created") => ({ id, type, room_id: "r1", data: { room_id: "r1" } });

test("back-off doubles from 0.5 s to a 15 s cap, half fixed and half random", () => {
  const fixed = [0, 1, 2, 3, 4, 5, 9].map((a) => backoffDelay(a, () => 0));
  assert.deepEqual(fixed, [250, 500, 1000, 2000, 4000, 7500, 7500]);
  assert.equal(backoffDelay(2, () => 0.5), 1500);
  assert.equal(backoffDelay(9, () => 0.999999) < 15000, true);
  assert.equal(backoffDelay(9, () => 0.999999) > 14990, true);
  // With the real Math.random: always within [exp/2, exp), and actually spread out.
  const samples = Array.from({ length: 200 }, () => backoffDelay(3));
  assert.ok(samples.every((d) => d >= 2000 && d < 4000));
  assert.ok(new Set(samples).size > 100);
});

test("connects with its cursor; hands on events; ping, hello and reset are not events", async () => {
  const s = makeStream();
  await s.start("c0");
  assert.equal(s.sockets.length, 1);
  const url = s.last().url;
  assert.equal(`${url.origin}${url.pathname}`, "ws://chat.test/api/v1/stream");
  assert.deepEqual([...url.searchParams.keys()].sort(), ["since", "ticket"]);
  assert.equal(url.searchParams.get("since"), "c0");
  assert.equal(url.searchParams.get("ticket"), "tk-1");
  assert.equal(s.state().state, "connecting");

  s.last().serverOpen();
  assert.deepEqual([s.state().state, s.state().transport], ["live", "websocket"]);
  s.last().serverSend({ type: "hello", cursor: "c-from-hello" });
  s.last().serverSend({ type: "ping" });
  s.last().serverSend(event("c1"));
  s.last().serverSend({ type: "typing", room_id: "r1", data: {} }); // ephemeral: no id
  s.last().serverSend("not json");
  assert.deepEqual(
    s.got.events.map((e) => e.type),
    ["message.created", "typing"],
  );
  assert.equal(s.stream.cursor, "c1");
});

test("a hello frame does not move the cursor, before or after events", async () => {
  const s = makeStream();
  await s.start("c0");
  s.last().serverOpen();
  s.last().serverSend({ type: "hello", cursor: "c-hello" });
  assert.equal(s.stream.cursor, "c0");
  s.last().serverSend(event("c1"));
  s.last().serverSend({ type: "hello", cursor: "c-hello-2" });
  assert.equal(s.stream.cursor, "c1");
  assert.deepEqual(s.got.events.map((e) => e.id), ["c1"]);
});

test("after a break it reconnects after a jittered back-off, from the last cursor delivered", async () => {
  const s = makeStream({ random: 0.5 });
  await s.start("c0");
  live(s.last());
  s.last().serverSend(event("c1"));
  s.last().serverSend(event("c2"));
  s.last().serverSend({ type: "presence", data: { user: "bob", online: true } });
  s.last().serverClose(1006);
  await flush();
  // attempt 0 with random 0.5: 250 + 0.5 * 250
  assert.deepEqual(s.clock.pendingTimeouts(), [375]);
  assert.deepEqual([s.state().state, s.state().retryAt], ["reconnecting", s.clock.now() + 375]);
  await s.clock.advance(374);
  assert.equal(s.sockets.length, 1);
  await s.clock.advance(1);
  assert.equal(s.sockets.length, 2);
  assert.equal(s.last().url.searchParams.get("since"), "c2");
});

test("while the server stays unreachable, retries back off exponentially to the cap", async () => {
  const s = makeStream();
  await s.start("c0");
  const delays = [];
  for (let i = 0; i < 8; i++) {
    s.last().serverClose(1006); // the WebSocket never opens
    await flush();
    // From the third failure on, the stream first checks whether plain HTTP gets through.
    if (i >= 2) s.api.gets[s.api.gets.length - 1].reject(new NetworkError("network error"));
    await flush();
    delays.push(...s.clock.pendingTimeouts());
    await s.clock.advance(s.clock.pendingTimeouts()[0]);
  }
  assert.deepEqual(delays, [250, 500, 1000, 2000, 4000, 7500, 7500, 7500]);
  assert.equal(s.sockets.length, 9);
  assert.ok(s.sockets.every((ws) => ws.url.searchParams.get("since") === "c0"));
  assert.equal(s.stream.transport, "websocket");

  // A connection that lives starts the back-off over.
  live(s.last());
  s.last().serverClose(1006);
  await flush();
  assert.deepEqual(s.clock.pendingTimeouts(), [250]);
});

test("the status says offline when the browser knows it has no network", async () => {
  const s = makeStream({ offline: true });
  await s.start("c0");
  live(s.last());
  s.last().serverClose(1006);
  await flush();
  assert.equal(s.state().state, "offline");
});

test("the browser going offline drops a live connection and says offline at once", async () => {
  const s = makeStream();
  await s.start("c0");
  live(s.last());
  assert.equal(s.state().state, "live");
  s.online.fireOffline();
  assert.equal(s.state().state, "offline");
  assert.equal(s.sockets[0].closedByClient !== null, true, "the old socket is closed");
  assert.equal(s.clock.pendingTimeouts().length, 1);
  s.online.fire(); // back online: a new connection at once
  await flush();
  assert.equal(s.sockets.length, 2);
});

test("a reset frame, then the close, refetches state and resumes from the fresh cursor at once", async () => {
  const s = makeStream();
  await s.start("c-unknown");
  live(s.last());
  s.last().serverSend({ type: "reset" });
  s.last().serverClose(1000);
  await flush();
  assert.equal(s.got.resets, 1);
  assert.ok(s.got.statuses.some((st) => st.state === "resetting"));
  assert.equal(s.sockets.length, 2);
  assert.equal(s.last().url.searchParams.get("since"), "fresh");
  assert.deepEqual(s.got.events, []);
  assert.deepEqual(s.clock.pendingTimeouts(), []);
});

test("close code 4410 alone is a reset too; a failing refetch is retried with back-off", async () => {
  const s = makeStream();
  s.got.failResets = 2;
  await s.start("c-unknown");
  s.last().serverOpen();
  s.last().serverClose(4410);
  await flush();
  assert.equal(s.got.resets, 1);
  assert.deepEqual(s.clock.pendingTimeouts(), [250]);
  await s.clock.advance(250);
  assert.equal(s.got.resets, 2);
  assert.deepEqual(s.clock.pendingTimeouts(), [500]);
  await s.clock.advance(500);
  assert.equal(s.got.resets, 3);
  assert.equal(s.sockets.length, 2);
  assert.equal(s.last().url.searchParams.get("since"), "fresh");
});

// -- tickets and the session's end ---------------------------------------------------------

/** The session is over: stopped, said once, nothing scheduled, no socket opened later. */
async function assertSignedOut(s, sockets) {
  assert.equal(s.got.unauthenticated, 1);
  assert.equal(s.state().state, "stopped");
  assert.equal(s.online.watchers, 0);
  assert.equal(s.clock.timers.size, 0);
  await s.clock.advance(600_000);
  assert.equal(s.sockets.length, sockets);
  assert.equal(s.got.unauthenticated, 1);
}

test("every WebSocket opens with a fresh one-time ticket, and the token is in no URL", async () => {
  const s = makeStream();
  await s.start("c0");
  live(s.last());
  s.last().serverSend(event("c1"));
  s.last().serverClose(1006); // a break: back-off, then a new ticket
  await s.clock.advance(s.clock.pendingTimeouts()[0]);
  s.last().serverOpen();
  s.last().serverClose(4008); // fell behind: at once, with a new ticket
  await flush();
  s.stream.reconnectNow(); // back online, woke from sleep...
  await flush();
  assert.equal(s.sockets.length, 4);
  assert.deepEqual(s.api.posts.map((p) => [p.path, p.body]), Array(4).fill(["/stream-tickets", undefined]));
  assert.deepEqual(s.sockets.map((ws) => ws.url.searchParams.get("ticket")), ["tk-1", "tk-2", "tk-3", "tk-4"]);
  for (const ws of s.sockets) {
    assert.equal(ws.url.searchParams.has("access_token"), false);
    assert.equal(ws.url.href.includes(TOKEN), false);
  }
  assert.deepEqual(s.sockets.map((ws) => ws.url.searchParams.get("since")), ["c0", "c1", "c1", "c1"]);
});

test("no socket opens before the ticket arrives; a failed ticket request backs off", async () => {
  const s = makeStream({ manualTickets: true });
  await s.start("c0");
  assert.equal(s.sockets.length, 0);
  assert.equal(s.state().state, "connecting");
  s.api.posts[0].reject(new NetworkError("network error"));
  await flush();
  assert.deepEqual([s.state().state, s.clock.pendingTimeouts()], ["reconnecting", [250]]);
  await s.clock.advance(250);
  s.api.posts[1].reject(new ApiError(503, "unavailable", "Service unavailable"));
  await flush();
  assert.deepEqual(s.clock.pendingTimeouts(), [500]);
  await s.clock.advance(500);
  s.api.posts[2].grant();
  await flush();
  assert.equal(s.sockets.length, 1);
  assert.equal(s.last().url.searchParams.get("ticket"), "tk-1");
  assert.equal(s.stream.transport, "websocket"); // HTTP trouble is no reason to long-poll
  assert.equal(s.got.unauthenticated, 0);
});

test("a 401 for a ticket means the session is over: it stops and says so once", async () => {
  const s = makeStream({ manualTickets: true });
  await s.start("c0");
  s.api.posts[0].reject(new ApiError(401, "unauthenticated", "Sign in"));
  await flush();
  await assertSignedOut(s, 0);
  assert.equal(s.api.posts.length, 1);
});

test("close code 4401 (signed out elsewhere): the next ticket is refused, and it stops for good", async () => {
  const s = makeStream({ manualTickets: true });
  await s.start("c0");
  s.api.posts[0].grant();
  await flush();
  live(s.last());
  s.last().serverClose(4401);
  await flush();
  assert.equal(s.api.posts.length, 2); // at once, no back-off
  s.api.posts[1].reject(new ApiError(401, "unauthenticated", "Sign in"));
  await flush();
  await assertSignedOut(s, 1);
});

test("close code 4401 with the next ticket granted reconnects; refused again, it backs off", async () => {
  const s = makeStream();
  await s.start("c0");
  s.last().serverOpen();
  s.last().serverClose(4401); // e.g. the ticket expired while the machine slept
  await flush();
  assert.equal(s.sockets.length, 2);
  assert.equal(s.last().url.searchParams.get("ticket"), "tk-2");
  s.last().serverOpen();
  s.last().serverClose(4401); // again, without a frame between: do not hammer
  await flush();
  assert.deepEqual(s.clock.pendingTimeouts(), [250]);
  assert.equal(s.got.unauthenticated, 0); // the token works: no reason to sign out
  await s.clock.advance(250);
  live(s.last()); // a frame: the count starts over
  s.last().serverClose(4401);
  await flush();
  assert.equal(s.sockets.length, 4);
  assert.deepEqual(s.clock.pendingTimeouts(), []);
});

test("close code 4429 (too many streams) retries after a minute or so, then longer, to 5 minutes", async () => {
  const s = makeStream();
  await s.start("c0");
  const delays = [];
  for (let i = 0; i < 5; i++) {
    s.last().serverOpen();
    s.last().serverClose(4429);
    await flush();
    assert.equal(s.state().reason, "too-many-streams");
    assert.equal(s.state().state, "reconnecting");
    delays.push(...s.clock.pendingTimeouts());
    await s.clock.advance(s.clock.pendingTimeouts()[0]);
  }
  assert.deepEqual(delays, [30_000, 60_000, 120_000, 150_000, 150_000]); // random 0: the low end
  assert.equal(s.stream.transport, "websocket");
  assert.equal(s.api.gets.length, 0, "not a blocked WebSocket: no long-poll probe");
  const high = makeStream({ random: 0.999 });
  await high.start("c0");
  high.last().serverClose(4429);
  await flush();
  assert.ok(high.clock.pendingTimeouts()[0] > 59_000);
  // A stream that works again reconnects at the usual pace, without the reason.
  live(s.last());
  s.last().serverClose(1006);
  await flush();
  assert.deepEqual([s.clock.pendingTimeouts(), s.state().reason], [[250], undefined]);
});

test("stopped or restarted while a ticket is on its way: that ticket opens nothing", async () => {
  const s = makeStream({ manualTickets: true });
  await s.start("c0");
  s.stream.reconnectNow();
  await flush();
  assert.equal(s.api.posts.length, 2);
  assert.equal(s.api.posts[0].signal.aborted, true);
  s.api.posts[1].grant();
  await flush();
  assert.equal(s.sockets.length, 1);
  s.last().serverClose(1006);
  await s.clock.advance(s.clock.pendingTimeouts()[0]);
  s.api.posts[2].grant(); // answered, but stopped before the answer is read
  s.stream.stop();
  assert.equal(s.api.posts[2].signal.aborted, true);
  await flush();
  assert.equal(s.sockets.length, 1);
  assert.equal(s.got.unauthenticated, 0);
});

test("long-polling, a 401 ends the session and a 429 too_many_streams backs off long", async () => {
  const s = makeStream();
  await s.start("c0");
  await failWebSocketsUntilProbe(s);
  s.api.gets[0].resolve({ events: [], next: "head" });
  await flush();
  assert.equal(s.stream.transport, "long-poll");
  s.api.gets[1].reject(new ApiError(429, "too_many_streams", "Too many streams"));
  await flush();
  assert.deepEqual([s.clock.pendingTimeouts(), s.state().reason], [[30_000], "too-many-streams"]);
  await s.clock.advance(30_000);
  s.api.gets[2].reject(new ApiError(401, "unauthenticated", "Sign in"));
  await flush();
  await assertSignedOut(s, 3);
});

test("close code 4008 (fell behind) resumes from the cursor at once", async () => {
  const s = makeStream();
  await s.start("c0");
  live(s.last());
  s.last().serverSend(event("c5"));
  s.last().serverClose(4008);
  await flush();
  assert.equal(s.sockets.length, 2);
  assert.equal(s.last().url.searchParams.get("since"), "c5");
});

test("where WebSockets never open but HTTP works, it long-polls from the cursor", async () => {
  const s = makeStream();
  await s.start("c0");
  await failWebSocketsUntilProbe(s);
  s.api.gets[0].resolve({ events: [], next: "head" });
  await flush();
  assert.equal(s.stream.transport, "long-poll");
  // The first poll answers at once (so "live" means the server took the cursor)...
  const first = s.api.gets[1];
  assert.deepEqual([first.query.get("since"), first.query.get("timeout")], ["c0", "0"]);
  first.resolve({ events: [event("c1")], next: "c1" });
  await flush();
  assert.deepEqual([s.state().state, s.state().transport], ["live", "long-poll"]);
  assert.deepEqual(s.got.events.map((e) => e.id), ["c1"]);
  // ...later ones wait for events, and follow `next` even when nothing came.
  const second = s.api.gets[2];
  assert.deepEqual([second.query.get("since"), second.query.get("timeout")], ["c1", "25"]);
  second.resolve({ events: [], next: "c2" });
  await flush();
  assert.equal(s.api.gets[3].query.get("since"), "c2");
  assert.equal(s.sockets.length, 3);
});

test("a long-poll that fails backs off; one answered 410 resets", async () => {
  const s = makeStream();
  await s.start("c0");
  await failWebSocketsUntilProbe(s);
  s.api.gets[0].resolve({ events: [], next: "head" });
  await flush();
  s.api.gets[1].resolve({ events: [], next: "c1" });
  await flush();
  s.api.gets[2].reject(new ApiError(502, "", "Bad gateway"));
  await flush();
  assert.equal(s.state().state, "reconnecting");
  assert.deepEqual(s.clock.pendingTimeouts(), [250]);
  await s.clock.advance(250);
  assert.equal(s.api.gets[3].query.get("since"), "c1");
  s.api.gets[3].reject(new ApiError(410, "cursor_expired", "Gone"));
  await flush();
  assert.equal(s.got.resets, 1);
  const after = s.api.gets[4];
  assert.deepEqual([after.query.get("since"), after.query.get("timeout")], ["fresh", "0"]);
  assert.equal(s.sockets.length, 3);
});

test("on long-poll it gives the WebSocket another chance after a minute", async () => {
  const s = makeStream();
  await s.start("c0");
  await failWebSocketsUntilProbe(s);
  s.api.gets[0].resolve({ events: [], next: "head" });
  await flush();
  s.api.gets[1].resolve({ events: [], next: "c1" });
  await flush();
  s.clock.jump(61_000); // polls kept coming back for a minute
  s.api.gets[2].resolve({ events: [event("c2")], next: "c2" });
  await flush();
  assert.equal(s.stream.transport, "websocket");
  assert.equal(s.sockets.length, 4);
  assert.equal(s.last().url.searchParams.get("since"), "c2");
  // Still blocked: one failure is enough to go back to long-polling.
  s.last().serverClose(1006);
  await flush();
  assert.equal(s.api.gets[3].path, "/events");
  s.api.gets[3].resolve({ events: [], next: "head" });
  await flush();
  assert.equal(s.stream.transport, "long-poll");
  assert.equal(s.api.gets[4].query.get("since"), "c2");
});

test("coming back online reconnects at once instead of waiting out the back-off", async () => {
  const s = makeStream();
  await s.start("c0");
  for (let i = 0; i < 2; i++) {
    s.last().serverClose(1006);
    await flush();
    await s.clock.advance(s.clock.pendingTimeouts()[0]);
  }
  s.last().serverClose(1006);
  await flush();
  s.api.gets[0].reject(new NetworkError("offline"));
  await flush();
  assert.deepEqual(s.clock.pendingTimeouts(), [1000]);
  s.online.fire();
  await flush();
  assert.equal(s.sockets.length, 4);
  assert.deepEqual(s.clock.pendingTimeouts(), []);
  // The back-off starts over from there.
  s.last().serverClose(1006);
  await flush();
  s.api.gets[1].reject(new NetworkError("offline"));
  await flush();
  assert.deepEqual(s.clock.pendingTimeouts(), [250]);
});

test("a WebSocket that stays open without frames counts as working; one dropped at once does not", async () => {
  const s = makeStream();
  await s.start("c0");
  s.last().serverClose(1006);
  await flush();
  await s.clock.advance(250);
  s.last().serverOpen();
  s.last().serverClose(1006); // opened, then dropped before any frame: something in the way
  await flush();
  assert.deepEqual(s.clock.pendingTimeouts(), [500]);
  await s.clock.advance(500);
  s.last().serverOpen();
  await s.clock.advance(11_000); // quiet, but open: it worked
  s.last().serverClose(1006);
  await flush();
  assert.deepEqual(s.clock.pendingTimeouts(), [250]);
  assert.equal(s.api.gets.length, 0, "no fallback check after a connection that worked");
});

test("a WebSocket silent for longer than the server's pings allow is replaced", async () => {
  const s = makeStream();
  await s.start("c0");
  live(s.last());
  await s.clock.advance(70_000);
  assert.equal(s.sockets.length, 1);
  await s.clock.advance(10_000);
  assert.equal(s.sockets.length, 2);
  assert.deepEqual(s.sockets[0].closedByClient, { code: 1000, reason: "reconnecting" });
  // A socket that keeps getting frames is left alone.
  live(s.last());
  for (let i = 0; i < 10; i++) {
    await s.clock.advance(30_000);
    s.last().serverSend({ type: "ping" });
  }
  assert.equal(s.sockets.length, 2);
});

test("after the machine slept it reconnects at once", async () => {
  const s = makeStream();
  await s.start("c0");
  live(s.last());
  s.last().serverSend(event("c3"));
  s.clock.jump(30_000); // no timer ran while asleep
  await s.clock.advance(5_000);
  assert.equal(s.sockets.length, 2);
  assert.equal(s.last().url.searchParams.get("since"), "c3");
});

test("typing goes over an open WebSocket only", async () => {
  const s = makeStream();
  await s.start("c0");
  assert.equal(s.stream.sendTyping("r1"), false);
  s.last().serverOpen();
  assert.equal(s.stream.sendTyping("r1"), true);
  assert.deepEqual(s.last().sent, [{ type: "typing", room_id: "r1" }]);
});

test("stop closes the connection and leaves nothing scheduled or watching", async () => {
  const s = makeStream();
  await s.start("c0");
  live(s.last());
  s.stream.stop();
  assert.equal(s.state().state, "stopped");
  assert.notEqual(s.sockets[0].closedByClient, null);
  assert.equal(s.online.watchers, 0);
  assert.equal(s.clock.timers.size, 0);
  s.online.fire();
  await s.clock.advance(120_000);
  assert.equal(s.sockets.length, 1);
});
