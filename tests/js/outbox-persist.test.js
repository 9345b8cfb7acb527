// The outbox and drafts outlive the page: every unsent message is in the local database with its
// Idempotency-Key from before its first try until the server answers with it; a new page resumes
// what was left exactly once, in the order written, with the same keys.

import "./web-globals.js";

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, NetworkError } from "../../src/hubbub/web/static/app/js/api.js";
import { Drafts } from "../../src/hubbub/web/static/app/js/drafts.js";
import { MemoryDb } from "../../src/hubbub/web/static/app/js/localdb.js";
import { Outbox, RESUME_MAX_AGE_MS, SERVER_RETRIES } from "../../src/hubbub/web/static/app/js/outbox.js";
import { Store } from "../../src/hubbub/web/static/app/js/store.js";
import { FakeClock, flush } from "./fakes.js";

const ALICE = { id: "u-alice", username: "alice", display_name: "Alice" };

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

/** One page: its own API, store and outbox, on a database that outlives it. */
function page(db, clock = new FakeClock()) {
  const api = fakeApi();
  const store = new Store({ refetchRoom() {}, refetchMessage() {}, fillGaps() {} });
  store.me = ALICE;
  store.setRooms(
    ["r1", "r2"].map((id) => ({ id, name: id, kind: "room", last_seq: 0, last_read_seq: 0, unread_count: 0 })),
  );
  const outbox = new Outbox({ api, store, clock, random: () => 0, db });
  return { api, store, outbox, clock };
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

const kept = async (db) =>
  (await db.all("outbox")).map((r) => [r.text, r.failed]).sort((a, b) => a[0].localeCompare(b[0]));

test("a message is kept from before its first try until the server answers with it", async () => {
  const db = new MemoryDb();
  const { api, outbox } = page(db);
  outbox.send("r1", "hello");
  await flush();
  assert.equal(api.posts.length, 1);
  const [record] = await db.all("outbox");
  assert.equal(record.key, api.posts[0].key, "the key sent is the key kept");
  assert.deepEqual([record.roomId, record.text, record.failed], ["r1", "hello", false]);
  api.posts[0].reject(new NetworkError("network error"));
  await flush();
  assert.deepEqual(await kept(db), [["hello", false]], "a retry keeps it");
  await outbox.clock.advance(500);
  api.posts[1].resolve(sent("r1", 1, "hello"));
  await flush();
  assert.deepEqual(await db.all("outbox"), []);
});

test("a new page resumes what was left once, in the order written, with the same keys", async () => {
  const db = new MemoryDb();
  const clock = new FakeClock();
  const first = page(db, clock);
  first.outbox.send("r1", "one");
  first.outbox.send("r1", "two", "m0");
  first.outbox.send("r2", "three");
  await flush();
  const keys = new Map(first.api.posts.map((p) => [p.body.text, p.key]));
  assert.equal(keys.size, 2); // "two" waits behind "one"; the page is then closed
  const allKeys = (await db.all("outbox")).map((r) => [r.text, r.key]);

  const second = page(db, clock);
  await Promise.all([second.outbox.resume(), second.outbox.resume()]);
  await second.outbox.resume();
  await flush();
  assert.deepEqual(
    second.api.posts.map((p) => [p.path, p.body]),
    [
      ["/rooms/r1/messages", { text: "one" }],
      ["/rooms/r2/messages", { text: "three" }],
    ],
    "each room's first message, once, however often resume is called",
  );
  for (const p of second.api.posts) assert.equal(p.key, keys.get(p.body.text));
  assert.deepEqual(
    second.outbox.pendingIn("r1").map((e) => [e.text, e.state, e.replyTo]),
    [
      ["one", "sending", null],
      ["two", "queued", "m0"],
    ],
  );
  second.api.posts[0].resolve(sent("r1", 1, "one"));
  await flush();
  assert.deepEqual(second.api.posts[2].body, { text: "two", reply_to: "m0" });
  assert.equal(second.api.posts[2].key, new Map(allKeys).get("two"));
  second.api.posts[1].resolve(sent("r2", 1, "three"));
  second.api.posts[2].resolve(sent("r1", 2, "two"));
  await flush();
  assert.deepEqual(await db.all("outbox"), []);

  const third = page(db, clock);
  await third.outbox.resume();
  await flush();
  assert.deepEqual(third.api.posts, [], "nothing is left to send a second time");
});

test("a refused message comes back failed with its reason and is not sent until Retry", async () => {
  const db = new MemoryDb();
  const first = page(db);
  first.outbox.send("r1", "too long");
  await flush();
  first.api.posts[0].reject(new ApiError(422, "invalid", "Message too long"));
  await flush();
  assert.deepEqual(await kept(db), [["too long", true]]);

  const second = page(db);
  await second.outbox.resume();
  await flush();
  assert.deepEqual(second.api.posts, []);
  const [e] = second.outbox.pendingIn("r1");
  assert.deepEqual([e.state, e.error], ["failed", "Refused by the server: Message too long"]);
  second.outbox.retry(e.key);
  await flush();
  assert.equal(second.api.posts[0].key, first.api.posts[0].key);
  assert.deepEqual(await kept(db), [["too long", false]], "retried: a reload would resume it");
  second.outbox.discard(e.key); // not while it is being sent
  second.api.posts[0].reject(new ApiError(422, "invalid", "Message too long"));
  await flush();
  second.outbox.discard(e.key);
  assert.deepEqual(await db.all("outbox"), []);
});

test("a message older than the server remembers keys comes back failed, not sent", async () => {
  const db = new MemoryDb();
  const clock = new FakeClock();
  const first = page(db, clock);
  first.outbox.send("r1", "yesterday");
  await flush();
  clock.jump(RESUME_MAX_AGE_MS + 1);
  const second = page(db, clock);
  await second.outbox.resume();
  await flush();
  assert.deepEqual(second.api.posts, []);
  assert.deepEqual(
    second.outbox.pendingIn("r1").map((e) => [e.state, e.error]),
    [["failed", "Not sent before the page was closed"]],
  );
});

test("signing out forgets the queue", async () => {
  const db = new MemoryDb();
  const { outbox } = page(db);
  outbox.send("r1", "x");
  await flush();
  assert.equal(outbox.unsent(), 1);
  outbox.forgetAll();
  await db.clear();
  assert.equal(outbox.unsent(), 0);
  assert.deepEqual(await db.all("outbox"), []);
});

test("drafts are written after a pause in typing (or at once on flush) and read back by the next page", async () => {
  const db = new MemoryDb();
  const clock = new FakeClock();
  const drafts = new Drafts({ db, clock });
  drafts.set("r1", "hel");
  drafts.set("r1", "hello");
  drafts.set("r2", "other");
  await flush();
  assert.deepEqual(await db.all("drafts"), [], "not on every key press");
  await clock.advance(300);
  assert.deepEqual(
    (await db.all("drafts")).map((d) => [d.roomId, d.text]),
    [
      ["r1", "hello"],
      ["r2", "other"],
    ],
  );
  drafts.set("r2", "");
  drafts.set("r1", "hello world");
  drafts.flush();
  await flush();
  const next = new Drafts({ db, clock });
  await next.load();
  assert.equal(next.get("r1"), "hello world");
  assert.equal(next.get("r2"), "");
  assert.deepEqual((await db.all("drafts")).map((d) => d.roomId), ["r1"]);
});

test("a message that failed on server errors is tried again by the next page (it may be stored)", async () => {
  const db = new MemoryDb();
  const first = page(db);
  first.outbox.send("r1", "flaky");
  await flush();
  for (let i = 0; i < SERVER_RETRIES; i++) {
    first.api.posts[i].reject(new ApiError(502, "", "Bad gateway"));
    await flush();
    await first.clock.advance(10_000);
  }
  assert.deepEqual(first.outbox.pendingIn("r1").map((e) => e.state), ["failed"]);
  assert.deepEqual(await kept(db), [["flaky", false]]);

  const second = page(db);
  await second.outbox.resume();
  await flush();
  assert.equal(second.api.posts.length, 1);
  assert.equal(second.api.posts[0].key, first.api.posts[0].key);
});

test("a thread reply is shown in its thread (and in the room only when it also goes there), and a new page resumes it as a thread reply", async () => {
  const db = new MemoryDb();
  const clock = new FakeClock();
  const first = page(db, clock);
  first.outbox.send("r1", "room message");
  first.outbox.send("r1", "in the thread", null, [], { root: "m0", alsoToRoom: false });
  first.outbox.send("r1", "to both", null, [], { root: "m0", alsoToRoom: true });
  await flush();
  assert.deepEqual(
    first.outbox.pendingIn("r1").map((e) => e.text),
    ["room message", "to both"],
    "a reply only in the thread is not pending in the room's timeline",
  );
  assert.deepEqual(
    first.outbox.pendingInThread("m0").map((e) => e.text),
    ["in the thread", "to both"],
  );
  assert.deepEqual(first.outbox.pendingInThread("m9"), []);

  const second = page(db, clock); // the page was closed while the first was being sent
  await second.outbox.resume();
  await flush();
  assert.deepEqual(second.outbox.pendingInThread("m0").map((e) => e.text), ["in the thread", "to both"]);
  second.api.posts[0].resolve(sent("r1", 1, "room message"));
  await flush();
  assert.deepEqual(second.api.posts[1].body, { text: "in the thread", thread_root: "m0", also_to_room: false });
  // Its echo on the stream (a thread reply) hides the pending copy; a top-level echo would not.
  second.outbox.noteEcho({ ...sent("r1", 2, "in the thread"), thread_root: null });
  assert.deepEqual(second.outbox.pendingInThread("m0").map((e) => e.text), ["in the thread", "to both"]);
  second.outbox.noteEcho({ ...sent("r1", 2, "in the thread"), thread_root: "m0" });
  assert.deepEqual(second.outbox.pendingInThread("m0").map((e) => e.text), ["to both"]);
  second.api.posts[1].resolve({ ...sent("r1", 2, "in the thread"), thread_root: "m0" });
  await flush();
  assert.deepEqual(second.api.posts[2].body, { text: "to both", thread_root: "m0", also_to_room: true });
  second.api.posts[2].resolve({ ...sent("r1", 3, "to both"), thread_root: "m0" });
  await flush();
  assert.deepEqual(await db.all("outbox"), []);
});
