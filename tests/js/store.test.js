// The client's state: every server event is applied idempotently, counts stay exact, markers and
// edits only move forward, holes in a timeline are found and asked for.

import "./web-globals.js";

import assert from "node:assert/strict";
import { test } from "node:test";

import { Store, Timeline } from "../../src/hubbub/web/static/app/js/store.js";

const ALICE = { id: "u-alice", username: "alice", display_name: "Alice" };
const BOB = { id: "u-bob", username: "bob", display_name: "Bob" };
const T0 = Date.parse("2026-01-01T12:00:00Z");

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
    created_at: new Date(T0 + seq * 1000).toISOString(),
    edited_at: null,
    deleted: false,
    reply_to: null,
    reactions: [],
    ...fields,
  };
}

const created = (m) => ({ id: `c-${m.seq}`, type: "message.created", room_id: m.room_id, data: m });

/** A store signed in as Alice, recording what it asks the client to fetch and what it emits. */
function makeStore(rooms = [room()]) {
  const asked = { rooms: [], messages: [], gaps: [] };
  const store = new Store({
    refetchRoom: (id) => asked.rooms.push(id),
    refetchMessage: (id) => asked.messages.push(id),
    fillGaps: (roomId) => asked.gaps.push(roomId),
  });
  store.me = ALICE;
  store.setRooms(rooms);
  const emitted = [];
  for (const kind of ["rooms", "timeline", "typing", "presence", "members", "roster"]) {
    store.addEventListener(kind, (e) => emitted.push([kind, e.detail?.roomId ?? null]));
  }
  return { store, asked, emitted };
}

/** A loaded timeline of r1 holding `seqs`, fetched at server time `date`. */
function load(store, seqs, date = T0, fields = {}) {
  store.mergeMessages("r1", seqs.map((s) => message(s, fields)), date);
  store.timeline("r1").loaded = true;
}

const seqsOf = (store, roomId = "r1") => store.timeline(roomId).list().map((m) => m.seq);

test("a duplicate message.created is held once and counted unread once", () => {
  const { store } = makeStore([room({ last_seq: 3, last_read_seq: 3 })]);
  load(store, [1, 2, 3]);
  store.applyEvents([created(message(4)), created(message(4))]);
  store.applyEvents([created(message(4))]); // a replay after reconnecting
  assert.deepEqual(seqsOf(store), [1, 2, 3, 4]);
  assert.equal(store.rooms.get("r1").last_seq, 4);
  assert.equal(store.rooms.get("r1").unread_count, 1);
});

test("a message in a snapshot and then as an event is held once and counted once", () => {
  // Room and page fetched after message 4 was committed, then its event arrives.
  const { store } = makeStore([room({ last_seq: 4, last_read_seq: 3, unread_count: 1 })]);
  load(store, [1, 2, 3, 4]);
  store.applyEvents([created(message(4, { text: "stale copy" }))]);
  assert.deepEqual(seqsOf(store), [1, 2, 3, 4]);
  assert.equal(store.timeline("r1").bySeq.get(4).text, "hello 4");
  assert.equal(store.rooms.get("r1").unread_count, 1);
});

test("a room body older than the events applied keeps their counts and is asked for again", () => {
  const { store, asked } = makeStore([room({ last_seq: 3, last_read_seq: 3 })]);
  store.applyEvents([created(message(4)), created(message(5))]);
  store.mergeRoom(room({ last_seq: 3, last_read_seq: 3, unread_count: 0, topic: "new topic" }));
  const r = store.rooms.get("r1");
  assert.deepEqual([r.last_seq, r.unread_count, r.topic], [5, 2, "new topic"]);
  assert.deepEqual(asked.rooms, ["r1"]);
  // The answer to that refetch is current: its counts are taken as they are.
  store.mergeRoom(room({ last_seq: 5, last_read_seq: 4, unread_count: 1 }));
  assert.deepEqual([r.last_seq, r.last_read_seq, r.unread_count], [5, 4, 1]);
});

test("my own messages and deleted ones never count as unread", () => {
  const { store } = makeStore([room({ last_seq: 1, last_read_seq: 1 })]);
  store.applyEvents([
    created(message(2, { author: ALICE })),
    created(message(3, { deleted: true })),
    created(message(4)),
  ]);
  assert.equal(store.rooms.get("r1").unread_count, 1);
  assert.equal(store.totalUnread(), 1);
});

test("a message read before its event arrived is not counted unread", () => {
  const { store } = makeStore([room({ last_seq: 5, last_read_seq: 5 })]);
  load(store, [1, 2, 3, 4, 5, 6]); // a page fetched just after 6 was sent
  store.markReadLocally("r1", 6);
  store.applyEvents([created(message(6))]);
  const r = store.rooms.get("r1");
  assert.deepEqual([r.last_seq, r.last_read_seq, r.unread_count], [6, 6, 0]);
});

test("read markers only move forward", () => {
  const { store } = makeStore([room({ last_seq: 10, last_read_seq: 2, unread_count: 8 })]);
  const read = (seq, unread) => ({
    type: "read.updated",
    room_id: "r1",
    data: { room_id: "r1", last_read_seq: seq, unread_count: unread },
  });
  store.applyEvents([read(8, 2)]);
  store.applyEvents([read(6, 4)]); // an older marker from another tab, arriving late
  const r = store.rooms.get("r1");
  assert.deepEqual([r.last_read_seq, r.unread_count], [8, 2]);
  store.markReadLocally("r1", 7);
  assert.deepEqual([r.last_read_seq, r.unread_count], [8, 2]);
  store.applyEvents([read(8, 1)]); // the same marker with a newer count (a deletion)
  assert.deepEqual([r.last_read_seq, r.unread_count], [8, 1]);
});

test("reading locally counts what remains exactly when every later message is held", () => {
  const { store, emitted } = makeStore([room({ last_seq: 10, unread_count: 8 })]);
  store.mergeMessages(
    "r1",
    [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].map((s) =>
      message(s, { author: s === 9 ? ALICE : BOB, deleted: s === 10 }),
    ),
    T0,
  );
  emitted.length = 0;
  store.markReadLocally("r1", 6);
  // 7 and 8 remain: 9 is mine and 10 is deleted.
  assert.equal(store.rooms.get("r1").unread_count, 2);
  assert.deepEqual(emitted, [["rooms", null]]);
  store.markReadLocally("r1", 10);
  assert.equal(store.rooms.get("r1").unread_count, 0);
});

test("reading locally leaves the count to the server when messages after the marker are missing", () => {
  const { store } = makeStore([room({ last_seq: 10, unread_count: 8 })]);
  load(store, [1, 2, 3, 4, 5, 9, 10]);
  store.markReadLocally("r1", 4);
  const r = store.rooms.get("r1");
  assert.deepEqual([r.last_read_seq, r.unread_count], [4, 8]);
});

test("holes between held messages are exact ranges, and asked for", () => {
  const t = new Timeline("r1");
  for (const seq of [1, 2, 5, 6, 9]) t.bySeq.set(seq, message(seq));
  assert.deepEqual(t.gaps(), [
    [2, 5],
    [6, 9],
  ]);
  assert.deepEqual([t.minSeq, t.maxSeq], [1, 9]);
  assert.deepEqual(new Timeline("r2").gaps(), []);

  const { store, asked } = makeStore();
  store.mergeMessages("r1", [message(1), message(2)], T0);
  assert.deepEqual(asked.gaps, []);
  store.mergeMessages("r1", [message(5)], T0);
  assert.deepEqual(asked.gaps, ["r1"]);
});

test("an event past a hole in a loaded timeline asks for the hole; one in an unopened room is not held", () => {
  const { store, asked } = makeStore([room({ last_seq: 3 }), room({ id: "r2", last_seq: 0 })]);
  load(store, [1, 2, 3]);
  store.applyEvents([created(message(5))]);
  assert.deepEqual(seqsOf(store), [1, 2, 3, 5]);
  assert.deepEqual(asked.gaps, ["r1"]);

  store.applyEvents([created(message(1, { room_id: "r2" }))]);
  assert.equal(store.timelines.has("r2"), false);
  assert.equal(store.rooms.get("r2").unread_count, 1);
});

test("edits only move forward, from events and from snapshots", () => {
  const { store } = makeStore([room({ last_seq: 1 })]);
  load(store, [1]);
  const edit = (text, at) => ({
    type: "message.updated",
    room_id: "r1",
    data: { room_id: "r1", seq: 1, text, edited_at: at },
  });
  store.applyEvents([edit("second", "2026-01-01T12:02:00Z")]);
  store.applyEvents([edit("first", "2026-01-01T12:01:00Z")]); // late
  const held = () => store.timeline("r1").bySeq.get(1);
  assert.equal(held().text, "second");
  // A page fetched before the second edit must not undo it.
  store.mergeMessages("r1", [message(1, { text: "first", edited_at: "2026-01-01T12:01:00Z" })], T0);
  assert.deepEqual([held().text, held().edited_at], ["second", "2026-01-01T12:02:00Z"]);
  store.mergeMessages("r1", [message(1, { text: "third", edited_at: "2026-01-01T12:03:00Z" })], T0);
  assert.equal(held().text, "third");
});

test("a deletion is applied once, takes back its unread count once, and survives an older snapshot", () => {
  const { store } = makeStore([room({ last_seq: 3, last_read_seq: 3 })]);
  load(store, [1, 2, 3]);
  store.applyEvents([created(message(4)), created(message(5))]);
  assert.equal(store.rooms.get("r1").unread_count, 2);
  const deleted = { type: "message.deleted", room_id: "r1", data: { id: "m4", room_id: "r1", seq: 4 } };
  store.applyEvents([deleted, deleted]);
  assert.equal(store.rooms.get("r1").unread_count, 1);
  store.mergeMessages("r1", [message(4)], T0); // fetched before the deletion
  const m = store.timeline("r1").bySeq.get(4);
  assert.deepEqual([m.deleted, m.text, m.reactions], [true, "", []]);
  store.applyEvents([{ type: "message.updated", room_id: "r1", data: { room_id: "r1", seq: 4, text: "x", edited_at: "2026-01-02T00:00:00Z" } }]);
  assert.equal(store.timeline("r1").bySeq.get(4).text, "");
});

test("a deletion of a message not held asks for the room, since it may have been counted", () => {
  const { store, asked } = makeStore([room({ last_seq: 9, last_read_seq: 5, unread_count: 4 })]);
  store.applyEvents([{ type: "message.deleted", room_id: "r1", data: { id: "m7", room_id: "r1", seq: 7 } }]);
  assert.deepEqual(asked.rooms, ["r1"]);
  assert.equal(store.rooms.get("r1").unread_count, 4);
  // At or below the marker it was never counted: nothing to ask.
  store.applyEvents([{ type: "message.deleted", room_id: "r1", data: { id: "m3", room_id: "r1", seq: 3 } }]);
  assert.deepEqual(asked.rooms, ["r1"]);
});

const reaction = (added, userId, ts, emoji = "👍") => ({
  type: added ? "reaction.added" : "reaction.removed",
  room_id: "r1",
  ts: new Date(ts).toISOString(),
  data: { room_id: "r1", seq: 1, emoji, user_id: userId },
});

test("my own reaction shown at once is not counted again when its event arrives", () => {
  const { store } = makeStore([room({ last_seq: 1 })]);
  load(store, [1]);
  const m = store.timeline("r1").bySeq.get(1);
  store.toggleOwnReaction(m, "👍", true);
  store.applyEvents([reaction(true, ALICE.id, T0 + 500)]);
  assert.deepEqual(m.reactions, [{ emoji: "👍", count: 1, me: true }]);
  store.applyEvents([reaction(false, ALICE.id, T0 + 600), reaction(false, ALICE.id, T0 + 600)]);
  assert.deepEqual(m.reactions, []);
});

test("someone's reaction the snapshot may already count is fetched, not guessed", () => {
  const { store, asked } = makeStore([room({ last_seq: 1 })]);
  load(store, [1], T0); // fetched at server time T0
  const m = () => store.timeline("r1").bySeq.get(1);
  store.applyEvents([reaction(true, BOB.id, T0 + 1000)]); // within the Date header's resolution
  assert.deepEqual(m().reactions, []);
  assert.deepEqual(asked.messages, ["m1"]);
  store.applyEvents([reaction(true, BOB.id, T0 + 5000)]); // clearly after the snapshot
  assert.deepEqual(m().reactions, [{ emoji: "👍", count: 1, me: false }]);
  assert.deepEqual(asked.messages, ["m1"]);
});

test("a snapshot that may predate a reaction event applied asks for the message again", () => {
  const { store, asked } = makeStore([room({ last_seq: 1 })]);
  load(store, [1], T0);
  store.applyEvents([reaction(true, BOB.id, T0 + 5000)]);
  store.mergeMessages("r1", [message(1)], T0 + 6000); // too close to tell
  assert.deepEqual(asked.messages, ["m1"]);
  store.mergeMessages("r1", [message(1)], T0 + 60000); // clearly after
  assert.deepEqual(asked.messages, ["m1"]);
});

test("a batch of events notifies once per kind it touched", () => {
  const { store, emitted } = makeStore([room({ last_seq: 0 }), room({ id: "r2" })]);
  load(store, []);
  emitted.length = 0;
  store.applyEvents([
    created(message(1)),
    created(message(2)),
    created(message(1, { room_id: "r2" })),
    { type: "presence", data: { user: "Bob", online: true } },
  ]);
  assert.deepEqual(emitted, [
    ["rooms", null],
    ["timeline", "r1"],
    ["timeline", "r2"],
    ["typing", null],
    ["presence", null],
  ]);
  assert.equal(store.isOnline("bob"), true);
});

test("events of unknown types, such as a stream's hello frame, change nothing", () => {
  const { store, emitted } = makeStore([room({ last_seq: 3, unread_count: 1 })]);
  const before = JSON.stringify([...store.rooms]);
  emitted.length = 0;
  store.applyEvents([{ type: "hello", cursor: "c-9" }, { type: "future.thing", data: { x: 1 } }]);
  assert.deepEqual(emitted, []);
  assert.equal(JSON.stringify([...store.rooms]), before);
});

test("session.revoked changes nothing held (this page's own end comes as the stream's 4401)", () => {
  const { store, emitted } = makeStore([room({ last_seq: 3, unread_count: 1 })]);
  load(store, [1, 2, 3]);
  const before = JSON.stringify([[...store.rooms], store.timeline("r1").list()]);
  emitted.length = 0;
  store.applyEvents([{ id: "c-4", type: "session.revoked", room_id: null, data: { session_ids: ["s1"] } }]);
  assert.deepEqual(emitted, []);
  assert.equal(JSON.stringify([[...store.rooms], store.timeline("r1").list()]), before);
});

test("the people of a room: authors held, authors replied to, and fetched members", () => {
  const { store, emitted } = makeStore([room(), room({ id: "r2" })]);
  const carol = { id: "u-carol", username: "carol", display_name: "Bob" };
  load(store, [1, 2]);
  store.replyCache.set("m0", message(0, { author: carol }));
  store.replyCache.set("x0", message(0, { room_id: "r2", author: ALICE }));
  assert.deepEqual(store.peopleIn("r1").map((a) => a.username), ["bob", "bob", "carol"]);
  emitted.length = 0;
  store.setMembers("r1", [{ user: ALICE, role: "owner", joined_at: "2026-01-01T00:00:00Z" }]);
  assert.deepEqual(emitted, [["roster", "r1"]]);
  assert.deepEqual(store.peopleIn("r1").map((a) => a.username), ["bob", "bob", "carol", "alice"]);
  assert.deepEqual(store.peopleIn("r2").map((a) => a.username), ["alice"]);
  store.applyEvents([{ type: "member.left", room_id: "r1", data: { user: ALICE } }]);
  assert.equal(store.members.has("r1"), false); // I left: nothing of the room is kept
});

test("joining adds the room with nothing unread and asks for exact counts; leaving drops it", () => {
  const { store, asked } = makeStore([]);
  store.setPublicRooms([room({ id: "r9", last_seq: 40 })]);
  store.applyEvents([
    {
      type: "member.joined",
      room_id: "r9",
      data: { user: ALICE, role: "member", room: room({ id: "r9", last_seq: 40, my_role: null }) },
    },
  ]);
  const r = store.rooms.get("r9");
  assert.deepEqual([r.last_read_seq, r.unread_count, r.my_role], [40, 0, "member"]);
  assert.deepEqual(store.publicRooms, []);
  assert.deepEqual(asked.rooms, ["r9"]);

  store.timeline("r9");
  store.applyEvents([{ type: "member.left", room_id: "r9", data: { user: ALICE } }]);
  assert.equal(store.rooms.has("r9"), false);
  assert.equal(store.timelines.has("r9"), false);
});

test("a room list replaces the rooms held, dropping those I am no longer in", () => {
  const { store } = makeStore([room(), room({ id: "r2", unread_count: 3 })]);
  assert.equal(store.totalUnread(), 3);
  store.setRooms([room({ unread_count: 1 })]);
  assert.deepEqual([...store.rooms.keys()], ["r1"]);
  assert.equal(store.totalUnread(), 1);
});

test("typing shows until its deadline (15 s at most), or until the typist's message arrives", (t) => {
  let now = T0;
  t.mock.method(Date, "now", () => now);
  const { store } = makeStore([room()]);
  const typing = (user, untilMs) => ({
    type: "typing",
    room_id: "r1",
    ts: new Date(now).toISOString(),
    data: { user_id: user.id, user: user.display_name, until: new Date(now + untilMs).toISOString() },
  });
  store.applyEvents([typing(BOB, 8000), typing({ id: "u-carol", display_name: "Carol" }, 60000)]);
  assert.deepEqual(store.typingIn("r1"), ["Bob", "Carol"]);
  assert.equal(store.isOnline("carol"), true);
  now += 8000;
  assert.deepEqual(store.typingIn("r1"), ["Carol"]);
  now += 7000; // Carol's 60 s are capped at 15 s
  assert.deepEqual(store.typingIn("r1"), []);

  store.applyEvents([typing(BOB, 8000)]);
  store.applyEvents([created(message(1))]);
  assert.deepEqual(store.typingIn("r1"), []);
});

test("a window short of the newest message holds no live message past it, nor asks to fill the gap", () => {
  const { store, asked } = makeStore([room({ last_seq: 600, last_read_seq: 100, unread_count: 500 })]);
  const t = store.timeline("r1");
  store.mergeMessages("r1", [101, 102, 103].map((s) => message(s)), T0);
  t.hasMoreAfter = true;
  t.loaded = true;
  store.applyEvents([created(message(601))]);
  assert.deepEqual(t.list().map((m) => m.seq), [101, 102, 103]);
  assert.equal(store.rooms.get("r1").last_seq, 601);
  assert.equal(store.rooms.get("r1").unread_count, 501);
  store.mergeMessages("r1", [message(650)], T0); // a single message fetched for a reply
  assert.deepEqual(t.list().map((m) => m.seq), [101, 102, 103]);
  assert.deepEqual(asked.gaps, []);
  store.mergeMessages("r1", [104, 105].map((s) => message(s)), T0, true); // scrolling down
  assert.deepEqual(t.list().map((m) => m.seq), [101, 102, 103, 104, 105]);
});

test("trim keeps the end being read and marks the other as having more", () => {
  const { store } = makeStore([room({ last_seq: 10 })]);
  const t = store.timeline("r1");
  store.mergeMessages("r1", Array.from({ length: 10 }, (_, i) => message(i + 1)), T0);
  assert.equal(t.trim(20, "oldest"), false);
  assert.equal(t.trim(6, "oldest"), true);
  assert.deepEqual(t.list().map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
  assert.equal(t.hasMoreAfter, true);
  assert.equal(t.trim(4, "newest"), true);
  assert.deepEqual(t.list().map((m) => m.seq), [3, 4, 5, 6]);
  assert.equal(t.hasMoreBefore, true);
});

test("#17: a trim forgets what pages proved about the dropped end (their messages are not held)", () => {
  const { store } = makeStore([room({ last_seq: 30 })]);
  const t = store.timeline("r1");
  store.mergeMessages("r1", [2, 4, 6, 8, 10, 12].map((s) => message(s)), T0);
  t.covered.add(1, 30); // a top_level=true page: the odd seqs are thread replies
  assert.equal(t.trim(4, "oldest"), true); // 10 and 12 dropped
  assert.equal(t.covered.covers(1, 8), true);
  assert.equal(t.covered.covers(9, 9), false);
  assert.equal(t.trim(2, "newest"), true); // 2 and 4 dropped
  assert.deepEqual(t.covered.ranges, [[6, 8]]);
  t.clear();
  assert.deepEqual(t.covered.ranges, []);
});
