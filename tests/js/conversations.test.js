// Mentions, threads and pins in the client's state (#17): mention counts beside unread counts
// stay exact under new messages, deletes, reads and read.updated; thread and pin events change
// the messages held; the composer's @ autocomplete and Enter-in-a-code-fence rules.

import "./web-globals.js";

import assert from "node:assert/strict";
import { test } from "node:test";

import { insideOpenFence } from "../../src/hubbub/web/static/app/js/composer-keys.js";
import {
  Coverage,
  mentionsMe,
  onlyInThread,
  pageCoverage,
} from "../../src/hubbub/web/static/app/js/conversations.js";
import { Store } from "../../src/hubbub/web/static/app/js/store.js";
import { mentionQuery } from "../../src/hubbub/web/static/app/js/views/mention-autocomplete.js";

const ALICE = { id: "u-alice", username: "alice", display_name: "Alice" };
const BOB = { id: "u-bob", username: "bob", display_name: "Bob" };
const NONE = { users: [], room: false, here: false };

function room(fields = {}) {
  return {
    id: "r1",
    name: "r1",
    kind: "room",
    visibility: "public",
    topic: null,
    member_count: 2,
    my_role: "member",
    last_seq: 0,
    last_read_seq: 0,
    unread_count: 0,
    mention_count: 0,
    ...fields,
  };
}

function message(seq, fields = {}) {
  return {
    id: `m${seq}`,
    room_id: "r1",
    seq,
    author: BOB,
    text: `hello ${seq}`,
    created_at: new Date(Date.parse("2026-01-01T12:00:00Z") + seq * 1000).toISOString(),
    edited_at: null,
    deleted: false,
    reply_to: null,
    reactions: [],
    mentions: NONE,
    thread_root: null,
    also_to_room: false,
    thread: null,
    pinned_at: null,
    ...fields,
  };
}

const created = (m) => ({ id: `c-${m.seq}`, type: "message.created", room_id: m.room_id, data: m });

function makeStore() {
  const asked = { rooms: [] };
  const store = new Store({ refetchRoom: (id) => asked.rooms.push(id), refetchMessage: () => {}, fillGaps: () => {} });
  store.me = ALICE;
  store.setRooms([room()]);
  store.mergeMessages("r1", [], NaN);
  store.timeline("r1").loaded = true;
  return { store, asked };
}

test("a message mentions me by my id, by @room or by @here; never my own", () => {
  assert.equal(mentionsMe(message(1, { mentions: { users: ["u-alice"], room: false, here: false } }), ALICE), true);
  assert.equal(mentionsMe(message(1, { mentions: { users: [], room: true, here: false } }), ALICE), true);
  assert.equal(mentionsMe(message(1, { mentions: { users: [], room: false, here: true } }), ALICE), true);
  assert.equal(mentionsMe(message(1, { mentions: { users: ["u-carol"], room: false, here: false } }), ALICE), false);
  assert.equal(mentionsMe(message(1, { author: ALICE, mentions: { users: [], room: true, here: false } }), ALICE), false);
  assert.equal(mentionsMe(message(1, { deleted: true, mentions: { users: ["u-alice"], room: false, here: false } }), ALICE), false);
});

test("new messages count as mentions once; deletes and reads take them back", () => {
  const { store } = makeStore();
  const r = store.rooms.get("r1");
  const mention = message(1, { mentions: { users: ["u-alice"], room: false, here: false } });
  store.applyEvents([created(mention), created(mention), created(message(2)), created(message(3, { mentions: { users: [], room: true, here: false } }))]);
  assert.equal(r.unread_count, 3);
  assert.equal(r.mention_count, 2);
  store.applyEvents([{ type: "message.deleted", room_id: "r1", data: { id: "m3", room_id: "r1", seq: 3 } }]);
  assert.equal(r.unread_count, 2);
  assert.equal(r.mention_count, 1);
  store.markReadLocally("r1", 1);
  assert.equal(r.unread_count, 1);
  assert.equal(r.mention_count, 0);
  store.markReadLocally("r1", 3);
  assert.equal(r.mention_count, 0);
});

test("read.updated carries the exact mention count, and an older one changes nothing", () => {
  const { store } = makeStore();
  const r = store.rooms.get("r1");
  store.applyEvents([{ type: "read.updated", room_id: "r1", data: { room_id: "r1", last_read_seq: 5, unread_count: 4, mention_count: 2 } }]);
  assert.equal(r.mention_count, 2);
  store.applyEvents([{ type: "read.updated", room_id: "r1", data: { room_id: "r1", last_read_seq: 3, unread_count: 9, mention_count: 9 } }]);
  assert.equal(r.mention_count, 2);
});

test("an edit that adds a mention of me to an unread message asks for the room's counts", () => {
  const { store, asked } = makeStore();
  store.applyEvents([created(message(1))]);
  store.applyEvents([
    {
      type: "message.updated",
      room_id: "r1",
      data: { id: "m1", room_id: "r1", seq: 1, text: "@alice", edited_at: "2026-01-01T13:00:00Z", mentions: { users: ["u-alice"], room: false, here: false } },
    },
  ]);
  assert.deepEqual(store.timeline("r1").bySeq.get(1).mentions.users, ["u-alice"]);
  assert.deepEqual(asked.rooms, ["r1"]);
});

test("thread.updated sets the root's summary; pins set and clear pinned_at; both notify", () => {
  const { store } = makeStore();
  store.applyEvents([created(message(1))]);
  const seen = [];
  store.addEventListener("thread", (e) => seen.push(["thread", e.detail.rootId]));
  store.addEventListener("pins", (e) => seen.push(["pins", e.detail.roomId]));
  const thread = { reply_count: 2, last_reply_at: "2026-01-01T12:10:00Z", participants: [BOB] };
  store.applyEvents([{ type: "thread.updated", room_id: "r1", data: { root_id: "m1", room_id: "r1", seq: 1, thread } }]);
  assert.deepEqual(store.timeline("r1").bySeq.get(1).thread, thread);
  store.applyEvents([{ type: "message.pinned", room_id: "r1", data: { id: "m1", room_id: "r1", seq: 1, pinned_at: "2026-01-01T12:20:00Z", by: BOB } }]);
  assert.equal(store.timeline("r1").bySeq.get(1).pinned_at, "2026-01-01T12:20:00Z");
  store.applyEvents([{ type: "message.unpinned", room_id: "r1", data: { id: "m1", room_id: "r1", seq: 1 } }]);
  assert.equal(store.timeline("r1").bySeq.get(1).pinned_at, null);
  assert.deepEqual(seen, [["thread", "m1"], ["pins", "r1"], ["pins", "r1"]]);
});

test("thread replies stay out of the main timeline unless also sent to the room", () => {
  assert.equal(onlyInThread(message(2, { thread_root: "m1" })), true);
  assert.equal(onlyInThread(message(2, { thread_root: "m1", also_to_room: true })), false);
  assert.equal(onlyInThread(message(2)), false);
});

test("the @name being typed before the caret", () => {
  assert.deepEqual(mentionQuery("hi @bo", 6), { start: 3, query: "bo" });
  assert.deepEqual(mentionQuery("@", 1), { start: 0, query: "" });
  assert.equal(mentionQuery("mail bob@exa", 12), null);
  assert.equal(mentionQuery("hi @bob there", 13), null);
  assert.deepEqual(mentionQuery("(@al", 4), { start: 1, query: "al" });
});

test("Enter adds a line inside an open ``` fence, and sends after it closes", () => {
  assert.equal(insideOpenFence("```js\nlet x", 11), true);
  assert.equal(insideOpenFence("```js\nlet x\n```", 15), false);
  assert.equal(insideOpenFence("plain `code`", 12), false);
  assert.equal(insideOpenFence("```\na\n```\n```\nb", 15), true);
});

test("coverage: ranges merge, and a hole inside one is not a gap", () => {
  const c = new Coverage();
  c.add(5, 9);
  c.add(12, 14);
  assert.equal(c.covers(6, 8), true);
  assert.equal(c.covers(8, 12), false);
  c.add(10, 11);
  assert.deepEqual(c.ranges, [[5, 14]]);
  assert.equal(c.covers(8, 12), true);
  assert.equal(c.covers(3, 2), true); // nothing to cover
  c.add(9, 3); // empty: ignored
  assert.deepEqual(c.ranges, [[5, 14]]);
});

test("coverage: a range is forgotten where messages were dropped (Timeline.trim, clear)", () => {
  const c = new Coverage();
  c.add(5, 20);
  c.remove(15, Infinity);
  assert.deepEqual(c.ranges, [[5, 14]]);
  c.remove(1, 7);
  assert.deepEqual(c.ranges, [[8, 14]]);
  c.remove(10, 11);
  assert.deepEqual(c.ranges, [[8, 9], [12, 14]]);
  assert.equal(c.covers(8, 12), false);
});

test("what a top_level page proves: from its first message (or seq 1) to before/after bounds", () => {
  const page = (seqs, before, after) => ({ messages: seqs.map((seq) => ({ seq })), has_more_before: before, has_more_after: after });
  // The newest page: its first message to now.
  assert.deepEqual(pageCoverage({}, page([10, 14, 20], true, false), 25), [10, 25]);
  // The whole room in one page: from seq 1.
  assert.deepEqual(pageCoverage({}, page([1, 4], false, false), 6), [1, 6]);
  // An older page: up to just before `before`.
  assert.deepEqual(pageCoverage({ before: 10 }, page([3, 7], true, true), 25), [3, 9]);
  assert.deepEqual(pageCoverage({ before: 10 }, page([1, 7], false, true), 25), [1, 9]);
  // After `after`: to its last message, or to now when nothing later is top-level.
  assert.deepEqual(pageCoverage({ after: 20 }, page([22, 30], true, true), 40), [21, 30]);
  assert.deepEqual(pageCoverage({ after: 20 }, page([], true, false), 40), [21, 40]);
  assert.deepEqual(pageCoverage({ after: 20, before: 30 }, page([26], true, false), 40), [21, 40]);
  assert.equal(pageCoverage({}, page([], false, false), 0), null);
});

test("a timeline's thread replies between top-level pages are no gaps to fill", () => {
  const { store } = makeStore();
  const t = store.timeline("r1");
  t.covered.add(1, 6);
  store.mergeMessages("r1", [message(1), message(4), message(6)], NaN);
  assert.deepEqual(t.gaps(), []);
  store.applyEvents([created(message(9))]); // 7 and 8 are not known to be thread replies
  assert.deepEqual(t.gaps(), [[6, 9]]);
});

test("a reply that stays in its thread is not unread in the room, but a mention in it counts", () => {
  const { store } = makeStore();
  const r = store.rooms.get("r1");
  store.applyEvents([
    created(message(1)),
    created(message(2, { thread_root: "m1" })),
    created(message(3, { thread_root: "m1", also_to_room: true })),
    created(message(4, { thread_root: "m1", mentions: { users: ["u-alice"], room: false, here: false } })),
  ]);
  assert.equal(r.unread_count, 2); // 1 and 3
  assert.equal(r.mention_count, 1);
  store.applyEvents([{ type: "message.deleted", room_id: "r1", data: { id: "m2", room_id: "r1", seq: 2 } }]);
  assert.equal(r.unread_count, 2);
  store.applyEvents([{ type: "message.deleted", room_id: "r1", data: { id: "m4", room_id: "r1", seq: 4 } }]);
  assert.equal(r.mention_count, 0);
  store.markReadLocally("r1", 1);
  assert.equal(r.unread_count, 1);
});
