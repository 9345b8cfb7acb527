// Optimistic sends: one at a time per room, in order; every retry carries the message's one
// Idempotency-Key; retryable failures back off and eventually give up; refusals fail at once.

import "./web-globals.js";

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, NetworkError } from "../../src/hubbub/web/static/app/js/api.js";
import { Outbox, SERVER_RETRIES } from "../../src/hubbub/web/static/app/js/outbox.js";
import { Store } from "../../src/hubbub/web/static/app/js/store.js";
import { FakeClock, flush } from "./fakes.js";

const ALICE = { id: "u-alice", username: "alice", display_name: "Alice" };

/** An API whose POSTs wait until the test answers them. */
function fakeApi() {
  const posts = [];
  return {
    posts,
    post(path, body, opts) {
      return new Promise((resolve, reject) => {
        posts.push({ path, body, key: opts.headers["Idempotency-Key"], resolve, reject });
      });
    },
  };
}

function makeOutbox() {
  const api = fakeApi();
  const clock = new FakeClock();
  const store = new Store({ refetchRoom() {}, refetchMessage() {}, fillGaps() {} });
  store.me = ALICE;
  store.setRooms([
    { id: "r1", name: "r1", kind: "room", last_seq: 0, last_read_seq: 0, unread_count: 0 },
    { id: "r2", name: "r2", kind: "room", last_seq: 0, last_read_seq: 0, unread_count: 0 },
  ]);
  // random() = 0: every back-off is its fixed half, so the tests know when retries fire.
  const online = { offline: false };
  const outbox = new Outbox({ api, store, clock, random: () => 0, isOffline: () => online.offline });
  const changes = [];
  outbox.addEventListener("change", (e) => changes.push(e.detail.roomId));
  return { outbox, api, clock, store, changes, online };
}

const sent = (roomId, seq, text) => ({
  id: `m${seq}`,
  room_id: roomId,
  seq,
  author: ALICE,
  text,
  created_at: "2026-01-01T12:00:00Z",
  edited_at: null,
  deleted: false,
  reply_to: null,
  reactions: [],
});

const states = (outbox, roomId) => outbox.pendingIn(roomId).map((e) => [e.text, e.state]);

test("sends to one room go one at a time in the order written; other rooms do not wait", async () => {
  const { outbox, api, store, changes } = makeOutbox();
  store.timeline("r1");
  outbox.send("r1", "first");
  outbox.send("r1", "second", "m0");
  outbox.send("r2", "elsewhere");
  await flush();
  assert.deepEqual(
    api.posts.map((p) => [p.path, p.body]),
    [
      ["/rooms/r1/messages", { text: "first" }],
      ["/rooms/r2/messages", { text: "elsewhere" }],
    ],
  );
  assert.deepEqual(states(outbox, "r1"), [
    ["first", "sending"],
    ["second", "queued"],
  ]);
  api.posts[0].resolve(sent("r1", 1, "first"));
  await flush();
  assert.deepEqual(api.posts[2].body, { text: "second", reply_to: "m0" });
  assert.notEqual(api.posts[2].key, api.posts[0].key);
  // The answer is a committed message: it is in the timeline and no longer pending.
  assert.deepEqual(store.timeline("r1").list().map((m) => m.text), ["first"]);
  assert.deepEqual(states(outbox, "r1"), [["second", "sending"]]);
  assert.ok(changes.includes("r1") && changes.includes("r2"));
});

test("a network failure is retried after back-off with the same Idempotency-Key", async () => {
  const { outbox, api, clock, store } = makeOutbox();
  outbox.send("r1", "hello");
  await flush();
  api.posts[0].reject(new NetworkError("network error"));
  await flush();
  assert.deepEqual(states(outbox, "r1"), [["hello", "retrying"]]);
  assert.equal(outbox.pendingIn("r1")[0].error, "Cannot reach the server. Trying again…");
  assert.deepEqual(clock.pendingTimeouts(), [500]);
  await clock.advance(499);
  assert.equal(api.posts.length, 1);
  await clock.advance(1);
  assert.equal(api.posts.length, 2);
  assert.equal(api.posts[1].key, api.posts[0].key);
  api.posts[1].resolve(sent("r1", 1, "hello"));
  await flush();
  assert.deepEqual(outbox.entries, []);
  assert.equal(store.rooms.get("r1").last_seq, 1);
});

test("a server error (503) is retried too; the next message waits behind the retry", async () => {
  const { outbox, api, clock } = makeOutbox();
  outbox.send("r1", "one");
  await flush();
  api.posts[0].reject(new ApiError(503, "unavailable", "Service unavailable"));
  await flush();
  outbox.send("r1", "two");
  await flush();
  assert.equal(api.posts.length, 1, "'two' must not overtake 'one'");
  assert.deepEqual(states(outbox, "r1"), [
    ["one", "retrying"],
    ["two", "queued"],
  ]);
  await clock.advance(500);
  assert.deepEqual(api.posts.map((p) => p.body.text), ["one", "one"]);
  api.posts[1].resolve(sent("r1", 1, "one"));
  await flush();
  assert.deepEqual(api.posts.map((p) => p.body.text), ["one", "one", "two"]);
});

test("a refused message fails at once with the server's reason, and the next one still goes", async () => {
  const { outbox, api, clock } = makeOutbox();
  outbox.send("r1", "too long");
  outbox.send("r1", "fine");
  await flush();
  api.posts[0].reject(new ApiError(422, "invalid", "Message too long"));
  await flush();
  assert.deepEqual(states(outbox, "r1"), [
    ["too long", "failed"],
    ["fine", "sending"],
  ]);
  assert.equal(outbox.pendingIn("r1")[0].error, "Refused by the server: Message too long");
  assert.deepEqual(clock.pendingTimeouts(), []);
  assert.deepEqual(api.posts.map((p) => p.body.text), ["too long", "fine"]);
});

test("after twelve tries, backing off up to the cap, it gives up and asks the person", async () => {
  const { outbox, api, clock } = makeOutbox();
  outbox.send("r1", "hello");
  await flush();
  const delays = [];
  for (let i = 0; i < 12; i++) {
    assert.equal(api.posts.length, i + 1);
    api.posts[i].reject(new NetworkError("network error"));
    await flush();
    delays.push(...clock.pendingTimeouts());
    await clock.advance(60_000);
  }
  assert.deepEqual(delays, [500, 1000, 2000, 4000, 7500, 7500, 7500, 7500, 7500, 7500, 7500]);
  assert.equal(api.posts.length, 12);
  assert.equal(new Set(api.posts.map((p) => p.key)).size, 1);
  const [e] = outbox.pendingIn("r1");
  assert.deepEqual([e.state, e.error], ["failed", "Could not reach the server"]);

  // Retry by hand: at once, with the same key.
  outbox.retry(e.key);
  await flush();
  assert.equal(api.posts.length, 13);
  assert.equal(api.posts[12].key, api.posts[0].key);
});

test("retryAll sends waiting messages now instead of after their back-off", async () => {
  const { outbox, api, clock } = makeOutbox();
  outbox.send("r1", "a");
  outbox.send("r2", "b");
  await flush();
  api.posts[0].reject(new NetworkError("offline"));
  api.posts[1].reject(new NetworkError("offline"));
  await flush();
  outbox.retryAll(); // the stream is live again
  await flush();
  assert.deepEqual(api.posts.map((p) => p.body.text), ["a", "b", "a", "b"]);
  assert.equal(api.posts[2].key, api.posts[0].key);
  assert.equal(api.posts[3].key, api.posts[1].key);
  assert.deepEqual(clock.pendingTimeouts(), []);
  await clock.advance(60_000);
  assert.equal(api.posts.length, 4, "the cancelled back-off must not send a third copy");
});

test("discard drops a failed message but not one being sent", async () => {
  const { outbox, api } = makeOutbox();
  outbox.send("r1", "x");
  await flush();
  const key = api.posts[0].key;
  outbox.discard(key);
  assert.equal(outbox.pendingIn("r1").length, 1);
  api.posts[0].reject(new ApiError(403, "forbidden", "Not a member"));
  await flush();
  outbox.discard(key);
  assert.deepEqual(outbox.entries, []);
});

test("each echo of my message on the stream hides one pending copy; the sends still settle", async () => {
  const { outbox, api } = makeOutbox();
  outbox.send("r1", "hi");
  outbox.send("r1", "hi");
  await flush();
  outbox.noteEcho({ ...sent("r1", 1, "hi"), author: { id: "u-bob" } }); // someone else's "hi"
  assert.equal(outbox.pendingIn("r1").length, 2);
  outbox.noteEcho(sent("r1", 1, "hi"));
  assert.deepEqual(outbox.pendingIn("r1").map((e) => e.state), ["queued"]);
  outbox.noteEcho(sent("r1", 2, "hi"));
  assert.deepEqual(outbox.pendingIn("r1"), []);
  assert.equal(outbox.entries.length, 2);
  api.posts[0].resolve(sent("r1", 1, "hi"));
  await flush();
  api.posts[1].resolve(sent("r1", 2, "hi"));
  await flush();
  assert.deepEqual(outbox.entries, []);
});

test("a server error says so, is tried a few times, then fails so the next message goes", async () => {
  const { outbox, api, clock } = makeOutbox();
  outbox.send("r1", "boom");
  outbox.send("r1", "after");
  await flush();
  const delays = [];
  for (let i = 0; i < SERVER_RETRIES; i++) {
    assert.deepEqual(api.posts.map((p) => p.body.text), Array(i + 1).fill("boom"));
    api.posts[i].reject(new ApiError(500, "internal", "Internal Server Error"));
    await flush();
    delays.push(...clock.pendingTimeouts());
    if (i < SERVER_RETRIES - 1) {
      assert.deepEqual(states(outbox, "r1")[0], ["boom", "retrying"]);
      assert.equal(outbox.pendingIn("r1")[0].error, "Server error (500). Trying again…");
      await clock.advance(delays[delays.length - 1]);
    }
  }
  assert.deepEqual(delays, [500, 1000, 2000], "a few seconds in all, not minutes");
  assert.deepEqual(states(outbox, "r1"), [
    ["boom", "failed"],
    ["after", "sending"],
  ]);
  assert.equal(outbox.pendingIn("r1")[0].error, "Server error (500)");
  assert.equal(api.posts[SERVER_RETRIES].body.text, "after");
});

test("too many requests (429) is its own message", async () => {
  const { outbox, api } = makeOutbox();
  outbox.send("r1", "x");
  await flush();
  api.posts[0].reject(new ApiError(429, "rate_limited", "Slow down"));
  await flush();
  assert.equal(outbox.pendingIn("r1")[0].error, "Sending too fast. Trying again…");
});

test("offline: it says so and waits for the connection without using up its tries", async () => {
  const { outbox, api, clock, online } = makeOutbox();
  online.offline = true;
  outbox.send("r1", "later");
  await flush();
  api.posts[0].reject(new NetworkError("network error"));
  await flush();
  assert.deepEqual(states(outbox, "r1"), [["later", "retrying"]]);
  assert.equal(outbox.pendingIn("r1")[0].error, "You are offline. It will be sent when the connection returns.");
  assert.deepEqual(clock.pendingTimeouts(), [], "no timer: the 'online' event retries");
  assert.equal(outbox.entries[0].attempts, 0);
  online.offline = false;
  outbox.retryAll();
  await flush();
  assert.equal(api.posts.length, 2);
  assert.equal(api.posts[1].key, api.posts[0].key);
});
