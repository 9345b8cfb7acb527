// Slash commands in the web client (#19): what the composer suggests commands for, and a
// command's answer for me (command.reply) kept per room until dismissed.

import "./web-globals.js";

import { test } from "node:test";
import assert from "node:assert/strict";

import { Store } from "../../src/hubbub/web/static/app/js/store.js";
import { commandQuery } from "../../src/hubbub/web/static/app/js/views/command-autocomplete.js";

test("a command is suggested only for /name typed at the very start", () => {
  assert.equal(commandQuery("/we", 3), "we");
  assert.equal(commandQuery("/", 1), "");
  assert.equal(commandQuery("/weather Paris", 14), null);
  assert.equal(commandQuery("see /we", 7), null);
  assert.equal(commandQuery("/usr/bin", 8), null);
  assert.equal(commandQuery("/We", 3), null);
});

test("a command's answer is kept for its room (the last 5) until dismissed", () => {
  const store = new Store();
  const seen = [];
  store.addEventListener("commands", (e) => seen.push(/** @type {CustomEvent} */ (e).detail.roomId));
  const reply = (/** @type {number} */ i) => ({
    type: "command.reply",
    room_id: "r1",
    ts: "2026-12-06T08:00:00.000Z",
    data: { command: "/weather", text: `answer ${i}`, user_id: "u1" },
  });
  store.applyEvents([1, 2, 3, 4, 5, 6].map(reply));
  assert.deepEqual(
    (store.commandReplies.get("r1") || []).map((r) => r.text),
    ["answer 2", "answer 3", "answer 4", "answer 5", "answer 6"],
  );
  assert.equal(store.commandReplies.get("r2"), undefined);
  store.dismissCommandReplies("r1");
  assert.equal(store.commandReplies.get("r1"), undefined);
  assert.deepEqual(seen, ["r1", "r1", "r1", "r1", "r1", "r1", "r1"]);
});
