// The store and the people around me: public rooms appear as they are made, new display names
// reach every place a person shows, being removed or banned leaves a notice, and mutes follow
// what the server says (events, member lists, a refused send).

import "./web-globals.js";

import assert from "node:assert/strict";
import { test } from "node:test";

import { ApiError } from "../../src/hubbub/web/static/app/js/api.js";
import { Outbox } from "../../src/hubbub/web/static/app/js/outbox.js";
import { allowedOn, managesRoom, rank } from "../../src/hubbub/web/static/app/js/roles.js";
import { Store } from "../../src/hubbub/web/static/app/js/store.js";
import { flush } from "./fakes.js";

const ALICE = { id: "u-alice", username: "alice", display_name: "Alice", is_admin: false };
const BOB = { id: "u-bob", username: "bob", display_name: "Bob", is_admin: false };
const ROOT = { id: "u-root", username: "root", display_name: "Root", is_admin: true };

function room(fields = {}) {
  return {
    id: "r1",
    name: "design",
    kind: "room",
    visibility: "public",
    topic: "",
    member_count: 2,
    my_role: "member",
    last_seq: 0,
    last_read_seq: 0,
    unread_count: 0,
    ...fields,
  };
}

/** A store signed in as Alice, recording what it emits. */
function makeStore(rooms = [room()]) {
  const store = new Store({ refetchRoom() {}, refetchMessage() {}, fillGaps() {} });
  store.me = { ...ALICE };
  store.setRooms(rooms);
  const emitted = [];
  for (const kind of ["rooms", "timeline", "roster", "bans", "members", "me", "notice"]) {
    store.addEventListener(kind, (e) => emitted.push([kind, e.detail?.roomId ?? null]));
  }
  return { store, emitted };
}

const event = (type, data, roomId = null) => ({ id: `e-${Math.random()}`, type, room_id: roomId, data });
const left = (user, how, roomId = "r1") => event("member.left", { room_id: roomId, user, how }, roomId);
const updated = (user, fields, roomId = "r1") =>
  event("member.updated", { user, role: "member", muted: false, ...fields }, roomId);

// -- room.created ------------------------------------------------------------------------------

test("room.created adds a public room to join, once; never one I am in, nor a private one", () => {
  const { store, emitted } = makeStore();
  const made = { id: "r9", name: "new", kind: "room", visibility: "public", topic: "", member_count: 1, last_seq: 0 };
  store.applyEvents([event("room.created", made)]);
  store.applyEvents([event("room.created", made)]); // a replay after reconnecting
  assert.deepEqual(store.publicRooms.map((r) => r.id), ["r9"]);
  assert.ok(emitted.some(([kind]) => kind === "rooms"));

  store.applyEvents([event("room.created", { ...room(), my_role: undefined })]); // I am in r1
  store.applyEvents([event("room.created", { ...made, id: "r8", visibility: "private" })]);
  assert.deepEqual(store.publicRooms.map((r) => r.id), ["r9"]);

  // Joining it (member.joined about me) takes it off the list.
  store.applyEvents([event("member.joined", { room: made, user: ALICE, role: "member" }, "r9")]);
  assert.deepEqual(store.publicRooms, []);
  assert.ok(store.rooms.has("r9"));
});

// -- user.updated ------------------------------------------------------------------------------

test("user.updated renames a person in timelines, member lists, bans and reply quotes", () => {
  const { store, emitted } = makeStore();
  const msg = (seq, author) => ({
    id: `m${seq}`, room_id: "r1", seq, author, text: "hi", created_at: "2026-01-01T12:00:00Z",
    edited_at: null, deleted: false, reply_to: null, reactions: [],
  });
  store.mergeMessages("r1", [msg(1, { ...BOB, guest: false }), msg(2, { ...ALICE, guest: false })], 0);
  store.setMembers("r1", [
    { user: { ...ALICE }, role: "member", joined_at: "", muted: false },
    { user: { ...BOB }, role: "member", joined_at: "", muted: false },
  ]);
  store.setBans("r2", [{ user: { ...BOB }, reason: "", banned_at: "" }]);
  store.replyCache.set("m0", { ...msg(0, { ...BOB }), room_id: "r3" });
  const version = store.timeline("r1").version;
  emitted.length = 0;

  store.applyEvents([event("user.updated", { ...BOB, display_name: "Robert" })]);

  assert.equal(store.timeline("r1").bySeq.get(1).author.display_name, "Robert");
  assert.equal(store.timeline("r1").bySeq.get(2).author.display_name, "Alice");
  assert.ok(store.timeline("r1").version > version);
  assert.equal(store.members.get("r1")[1].user.display_name, "Robert");
  assert.equal(store.bans.get("r2")[0].user.display_name, "Robert");
  assert.equal(store.replyCache.get("m0").author.display_name, "Robert");
  assert.deepEqual(
    emitted.filter(([kind]) => kind !== "rooms").sort(),
    [["bans", "r2"], ["roster", "r1"], ["timeline", "r1"], ["timeline", "r3"]],
  );

  // The same event again changes nothing and says nothing.
  emitted.length = 0;
  store.applyEvents([event("user.updated", { ...BOB, display_name: "Robert" })]);
  assert.deepEqual(emitted, []);
});

test("user.updated about me changes my own name in place and says so", () => {
  const { store, emitted } = makeStore();
  const me = store.me;
  store.applyEvents([event("user.updated", { ...ALICE, display_name: "Al" })]);
  assert.equal(store.me, me); // the session holds the same object
  assert.equal(store.me.display_name, "Al");
  assert.deepEqual(emitted, [["me", null]]);
});

// -- member.left and its how ---------------------------------------------------------------------

test("being removed from a room leaves a notice, and a public room can be joined again", () => {
  const { store, emitted } = makeStore([room(), room({ id: "general", name: "general" })]);
  store.timeline("r1");
  store.applyEvents([left(ALICE, "removed")]);
  assert.ok(!store.rooms.has("r1"));
  assert.ok(!store.timelines.has("r1"));
  assert.deepEqual(store.notice, { kind: "removed", roomId: "r1", text: "You were removed from #design." });
  assert.deepEqual(store.publicRooms.map((r) => [r.id, r.member_count, r.my_role]), [["r1", 1, undefined]]);
  assert.ok(emitted.some(([kind]) => kind === "notice"));

  // A replay of the event (after reconnecting) does not say it twice.
  store.dismissNotice();
  store.applyEvents([left(ALICE, "removed")]);
  assert.equal(store.notice, null);
  assert.equal(store.publicRooms.length, 1);
});

test("being banned says so; a private room is just gone, and a public one is not offered", () => {
  const { store } = makeStore([room({ visibility: "private", name: "secret" }), room({ id: "r2", name: "open" })]);
  store.applyEvents([left(ALICE, "banned")]);
  assert.deepEqual(store.notice, { kind: "banned", roomId: "r1", text: "You were banned from #secret." });
  assert.ok(!store.rooms.has("r1"));
  store.applyEvents([left(ALICE, "banned", "r2")]);
  assert.equal(store.notice.text, "You were banned from #open.");
  assert.deepEqual(store.publicRooms, []);
});

test("leaving myself, or someone else leaving, sets no notice", () => {
  const { store, emitted } = makeStore([room(), room({ id: "r2" })]);
  store.applyEvents([left(BOB, "removed"), left(BOB, "banned")]);
  assert.ok(store.rooms.has("r1"));
  store.applyEvents([left(ALICE, "left", "r2")]);
  store.applyEvents([event("member.left", { room_id: "r1", user: ALICE }, "r1")]); // no how: left
  assert.equal(store.notice, null);
  assert.equal(store.rooms.size, 0);
  assert.ok(!emitted.some(([kind]) => kind === "notice"));
});

// -- muted -----------------------------------------------------------------------------------------

test("member.updated about me mutes and unmutes me; about others it does not", () => {
  const { store, emitted } = makeStore();
  assert.equal(store.isMuted("r1"), false);
  store.applyEvents([updated(BOB, { muted: true })]);
  assert.equal(store.isMuted("r1"), false);
  store.applyEvents([updated(ALICE, { muted: true })]);
  assert.equal(store.isMuted("r1"), true);
  assert.ok(emitted.some(([kind]) => kind === "rooms"));
  store.applyEvents([updated(ALICE, { muted: false, role: "admin" })]);
  assert.equal(store.isMuted("r1"), false);
  assert.equal(store.rooms.get("r1").my_role, "admin");
});

test("a fetched member list tells whether I am muted", () => {
  const { store, emitted } = makeStore();
  store.setMembers("r1", [
    { user: ALICE, role: "member", joined_at: "", muted: true },
    { user: BOB, role: "owner", joined_at: "", muted: false },
  ]);
  assert.equal(store.isMuted("r1"), true);
  assert.deepEqual(emitted, [["roster", "r1"], ["rooms", null]]);
  store.setMembers("r1", [{ user: ALICE, role: "member", joined_at: "", muted: false }]);
  assert.equal(store.isMuted("r1"), false);
});

test("a mute ends with the membership, and the room list forgets rooms I am no longer in", () => {
  const { store } = makeStore([room(), room({ id: "r2" })]);
  store.applyEvents([updated(ALICE, { muted: true }), updated(ALICE, { muted: true }, "r2")]);
  store.applyEvents([left(ALICE, "removed")]);
  assert.equal(store.isMuted("r1"), false);
  store.setRooms([room()]);
  assert.equal(store.isMuted("r2"), false);
});

test("a send refused with 403 muted fails with that text and mutes the composer's room", async () => {
  const { store, emitted } = makeStore();
  const api = { post: () => Promise.reject(new ApiError(403, "muted", "Muted in this room")) };
  const outbox = new Outbox({ api, store });
  outbox.send("r1", "hello");
  await flush();
  assert.deepEqual(outbox.pendingIn("r1").map((e) => [e.state, e.error]), [["failed", "You are muted in this room"]]);
  assert.equal(store.isMuted("r1"), true);
  assert.ok(emitted.some(([kind]) => kind === "rooms"));
});

// -- roles ---------------------------------------------------------------------------------------

test("owners and admins manage their rooms; server admins manage public rooms, not private ones", () => {
  const pub = room({ my_role: "member" });
  const priv = room({ visibility: "private", my_role: "member" });
  assert.equal(managesRoom(pub, ALICE), false);
  assert.equal(managesRoom({ ...pub, my_role: "admin" }, ALICE), true);
  assert.equal(managesRoom(pub, ROOT), true);
  assert.equal(managesRoom(priv, ROOT), false);
  assert.equal(managesRoom({ ...pub, kind: "dm", my_role: "owner" }, ALICE), false);
  assert.equal(rank(pub, "owner", ROOT), 4);
  assert.equal(rank(priv, "owner", ROOT), 3);
});

test("moderation needs a rank above the target's; only owners change roles; nobody the owner's", () => {
  const member = (user, role) => ({ user, role, joined_at: "", muted: false });
  const asAdmin = room({ my_role: "admin" });
  assert.deepEqual(allowedOn(asAdmin, ALICE, member(BOB, "member")), { moderate: true, changeRole: false });
  assert.deepEqual(allowedOn(asAdmin, ALICE, member(BOB, "admin")), { moderate: false, changeRole: false });
  const asOwner = room({ my_role: "owner" });
  assert.deepEqual(allowedOn(asOwner, ALICE, member(BOB, "admin")), { moderate: true, changeRole: true });
  assert.deepEqual(allowedOn(asOwner, ALICE, member(ALICE, "owner")), { moderate: false, changeRole: false });
  // A server admin in a public room outranks the owner, yet cannot change the owner's role.
  assert.deepEqual(allowedOn(room({ my_role: "member" }), ROOT, member(BOB, "owner")), {
    moderate: true,
    changeRole: false,
  });
  // The owner cannot ban, remove or mute a server admin in a public room, only in a private one.
  assert.deepEqual(allowedOn(asOwner, ALICE, member(ROOT, "member")), { moderate: false, changeRole: true });
  const privately = room({ my_role: "owner", visibility: "private" });
  assert.deepEqual(allowedOn(privately, ALICE, member(ROOT, "member")), { moderate: true, changeRole: true });
});
