// What notifies me (#18), client-side: the same rule as the server's, on received messages.

import assert from "node:assert/strict";
import { test } from "node:test";

import { badgeText, levelOf, mentionTotal, notifyReason } from "../../src/hubbub/web/static/app/js/notify.js";

const NOW = Date.parse("2030-01-01T00:00:00Z");
const LATER = "2030-01-01T01:00:00Z";
const EARLIER = "2029-12-31T23:00:00Z";

/** @param {object} [over] */
const room = (over = {}) => ({ id: "r_1", name: "plans", kind: "room", notification_level: "mentions", notifications_muted_until: null, ...over });
/** @param {object} [over] */
const message = (over = {}) => ({
  id: "m_1",
  room_id: "r_1",
  seq: 5,
  author: { id: "u_alice", display_name: "Alice" },
  text: "hello",
  deleted: false,
  mentions: { users: [], room: false, here: false },
  thread_root: null,
  also_to_room: false,
  ...over,
});
/** @param {object} o */
const reason = (o) => notifyReason({ meId: "u_bob", followed: new Set(["m_root"]), now: NOW, room: room(), message: message(), ...o });

test("a plain message notifies at level all only", () => {
  assert.equal(reason({}), null);
  assert.equal(reason({ room: room({ notification_level: "all" }) }), "message");
  assert.equal(reason({ room: room({ notification_level: "none" }), message: message({ mentions: { users: ["u_bob"], room: false, here: false } }) }), null);
});

test("a DM defaults to all", () => {
  const dm = room({ kind: "dm", notification_level: undefined });
  assert.equal(levelOf(dm), "all");
  assert.equal(reason({ room: dm }), "dm");
});

test("mentions of me, @room and @here notify", () => {
  for (const mentions of [
    { users: ["u_bob"], room: false, here: false },
    { users: [], room: true, here: false },
    { users: [], room: false, here: true },
  ]) {
    assert.equal(reason({ message: message({ mentions }) }), "mention");
  }
  assert.equal(reason({ message: message({ mentions: { users: ["u_carol"], room: false, here: false } }) }), null);
});

test("a reply in a followed thread notifies; a thread-only reply is not a timeline message", () => {
  assert.equal(reason({ message: message({ thread_root: "m_root" }) }), "thread");
  const all = room({ notification_level: "all" });
  assert.equal(reason({ room: all, message: message({ thread_root: "m_other" }) }), null);
  assert.equal(reason({ room: all, message: message({ thread_root: "m_other", also_to_room: true }) }), "message");
});

test("never my own, a muted room, do not disturb, or a room I am not in", () => {
  const loud = room({ notification_level: "all" });
  assert.equal(reason({ room: loud, message: message({ author: { id: "u_bob", display_name: "Bob" } }) }), null);
  assert.equal(reason({ room: room({ notification_level: "all", notifications_muted_until: LATER }) }), null);
  assert.equal(reason({ room: room({ notification_level: "all", notifications_muted_until: EARLIER }) }), "message");
  assert.equal(reason({ room: loud, dndUntil: LATER }), null);
  assert.equal(reason({ room: loud, dndUntil: EARLIER }), "message");
  assert.equal(reason({ room: undefined }), null);
  assert.equal(reason({ room: loud, message: message({ deleted: true }) }), null);
});

test("the badge counts unread mentions", () => {
  assert.equal(mentionTotal([{ mention_count: 2 }, {}, { mention_count: 1 }]), 3);
  assert.equal(badgeText(7), "7");
  assert.equal(badgeText(120), "99+");
});
