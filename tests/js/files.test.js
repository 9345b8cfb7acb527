// Files (#15) in the client: the upload tray's states (progress, cancel, retry, take), what a
// failed upload says, and a message with files through the outbox (its ids sent, kept across a
// reload, its echo recognised).

import "./web-globals.js";

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError, NetworkError } from "../../src/hubbub/web/static/app/js/api.js";
import { MemoryDb } from "../../src/hubbub/web/static/app/js/localdb.js";
import { Outbox } from "../../src/hubbub/web/static/app/js/outbox.js";
import { Store } from "../../src/hubbub/web/static/app/js/store.js";
import { formatBytes, uploadFailure, Uploads } from "../../src/hubbub/web/static/app/js/uploads.js";
import { FakeClock, flush } from "./fakes.js";

const ALICE = { id: "u-alice", username: "alice", display_name: "Alice" };
const file = (name, size) => ({ name, size, type: "application/octet-stream" });

/** A sendFile whose requests wait until the test answers them. */
function fakeSend() {
  const calls = [];
  const send = (o) =>
    new Promise((resolve, reject) => {
      const call = { ...o, resolve, reject, aborted: false };
      o.onStart?.(() => {
        call.aborted = true;
        reject(new DOMException("cancelled", "AbortError"));
      });
      calls.push(call);
    });
  return { calls, send };
}

test("an upload reports progress, then is ready; take() hands its upload over once", async () => {
  const { calls, send } = fakeSend();
  const uploads = new Uploads({ token: () => "t", send });
  uploads.add("r1", [file("a b.txt", 2000)]);
  assert.equal(calls.length, 1);
  assert.equal(calls[0].path, "/rooms/r1/uploads?filename=a%20b.txt");
  assert.equal(calls[0].token, "t");
  calls[0].onProgress(500, 2000);
  assert.equal(uploads.itemsIn("r1")[0].loaded, 500);
  assert.deepEqual(uploads.status("r1"), { any: true, uploading: true, failed: false });
  calls[0].resolve({ id: "f_1", filename: "a b.txt", content_type: "text/plain", size: 2000 });
  await flush();
  assert.equal(uploads.itemsIn("r1")[0].state, "done");
  assert.deepEqual(uploads.take("r1").map((u) => u.id), ["f_1"]);
  assert.deepEqual(uploads.take("r1"), []);
  assert.equal(uploads.status("r1").any, false);
});

test("a cancelled upload is aborted and leaves the tray; a failed one says why and retries", async () => {
  const { calls, send } = fakeSend();
  const uploads = new Uploads({ token: () => "t", send });
  uploads.add("r1", [file("big.bin", 5000), file("small.bin", 10)]);
  const [big, small] = uploads.itemsIn("r1");
  uploads.remove(big.key);
  assert.equal(calls[0].aborted, true);
  assert.deepEqual(uploads.itemsIn("r1").map((x) => x.key), [small.key]);
  calls[1].reject(new ApiError(429, "rate_limited", "Too many"));
  await flush();
  assert.equal(small.state, "failed");
  assert.match(small.error, /Too many uploads/);
  assert.deepEqual(uploads.status("r1"), { any: true, uploading: false, failed: true });
  uploads.retry(small.key);
  assert.equal(calls.length, 3);
  assert.equal(small.state, "uploading");
  calls[2].resolve({ id: "f_2", filename: "small.bin", content_type: "application/octet-stream", size: 10 });
  await flush();
  assert.equal(small.state, "done");
});

test("a failed upload's reason names what to do about it", () => {
  assert.match(uploadFailure(new ApiError(413, "file_too_large", "x"), 3_000_000), /^Too large \(3\.0 MB\)/);
  assert.match(uploadFailure(new ApiError(413, "quota_exceeded", "x")), /storage is full/);
  assert.match(uploadFailure(new ApiError(429, "rate_limited", "x")), /Too many uploads/);
  assert.equal(uploadFailure(new NetworkError("network error")), "Could not reach the server");
  assert.equal(uploadFailure(new ApiError(503, "", "x")), "Server error (503)");
  assert.equal(formatBytes(1), "1 byte");
  assert.equal(formatBytes(999), "999 bytes");
  assert.equal(formatBytes(1500), "1.5 KB");
  assert.equal(formatBytes(25_000_000), "25 MB");
});

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

function page(db) {
  const api = fakeApi();
  const store = new Store({ refetchRoom() {}, refetchMessage() {}, fillGaps() {} });
  store.me = ALICE;
  store.setRooms([{ id: "r1", name: "r1", kind: "room", last_seq: 0, last_read_seq: 0, unread_count: 0 }]);
  const outbox = new Outbox({ api, store, clock: new FakeClock(), random: () => 0, db });
  return { api, store, outbox };
}

const UPLOAD = { id: "f_1", filename: "cat.png", content_type: "image/png", size: 1234, url: "/x", sha256: "ab" };

test("a message with files goes through the outbox with their ids, and survives a reload", async () => {
  const db = new MemoryDb();
  const first = page(db);
  first.outbox.send("r1", "", null, [UPLOAD]);
  await flush();
  assert.deepEqual(first.api.posts[0].body, { text: "", attachments: ["f_1"] });
  const key = first.api.posts[0].key;
  // The page closes before the answer: the next one sends it again, same key, same files.
  const second = page(db);
  await second.outbox.resume();
  await flush();
  assert.equal(second.api.posts[0].key, key);
  assert.deepEqual(second.api.posts[0].body, { text: "", attachments: ["f_1"] });
  assert.deepEqual(second.outbox.pendingIn("r1")[0].attachments, [
    { id: "f_1", filename: "cat.png", content_type: "image/png", size: 1234 },
  ]);
});

test("the echo of a message with files hides its pending copy only when the files match", async () => {
  const { outbox } = page(new MemoryDb());
  outbox.send("r1", "", null, [UPLOAD]);
  const echo = (attachments) => ({ room_id: "r1", author: ALICE, text: "", reply_to: null, attachments });
  outbox.noteEcho(echo([]));
  assert.equal(outbox.pendingIn("r1").length, 1);
  outbox.noteEcho(echo([{ id: "f_1" }]));
  assert.equal(outbox.pendingIn("r1").length, 0);
});

test("a new picture (user.updated) reaches the member lists held, and its removal too", () => {
  const store = new Store({ refetchRoom() {}, refetchMessage() {}, fillGaps() {} });
  store.me = ALICE;
  const bob = { id: "u-bob", username: "bob", display_name: "Bob", avatar_url: null };
  store.setMembers("r1", [{ user: bob, role: "member", joined_at: "2026-01-01T00:00:00Z", muted: false }]);
  const rosters = [];
  store.addEventListener("roster", (e) => rosters.push(e.detail.roomId));
  const event = (avatar_url) => ({ type: "user.updated", data: { ...bob, avatar_url } });
  store.applyEvents([event("/api/v1/avatars/k1")]);
  assert.equal(store.members.get("r1")[0].user.avatar_url, "/api/v1/avatars/k1");
  assert.deepEqual(rosters, ["r1"]);
  store.applyEvents([event(null)]);
  assert.equal(store.members.get("r1")[0].user.avatar_url, null);
  assert.deepEqual(rosters, ["r1", "r1"]);
});
