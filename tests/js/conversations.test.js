// Mentions, threads and pins in the client's state (#17): mention counts beside unread counts
// stay exact under new messages, deletes, reads and read.updated; thread and pin events change
// the messages held; the composer's @ autocomplete and Enter-in-a-code-fence rules.

import "./web-globals.js";

import assert from "node:assert/strict";
import { test } from "node:test";

import { insideOpenFence } from "../../src/hubbub/web/static/app/js/composer-keys.js";
import { mentionsMe, onlyInThread } from "../../src/hubbub/web/static/app/js/conversations.js";
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
