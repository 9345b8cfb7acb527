// Telling people apart: a display name never stands alone where it could be someone else's.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  authorText,
  authorTitle,
  clashingNames,
  isInvisibleName,
  nameKey,
  showsUsername,
} from "../../src/hubbub/web/static/app/js/names.js";

const alice = { id: "u1", username: "alice", display_name: "Alice", guest: false };
const plainAlice = { id: "u1", username: "alice", display_name: "alice", guest: false };
const impostor = { id: "u2", username: "mallory", display_name: "Alice", guest: false };
const guest = { id: null, username: null, display_name: "Alice", guest: true };

test("names that read the same have one key: case, width, invisible characters, spaces", () => {
  const key = nameKey("Alice");
  for (const lookalike of ["alice", "ALICE", "Ａｌｉｃｅ", "Al\u200bice", "\u2066Alice\u2069", " Alice  "]) {
    assert.equal(nameKey(lookalike), key, JSON.stringify(lookalike));
  }
  assert.equal(nameKey("Mary  Ann"), nameKey("mary ann"));
  assert.notEqual(nameKey("Alice"), nameKey("Alicia"));
});

test("a display name shared by different people is a clash; one person many times is not", () => {
  assert.deepEqual(clashingNames([alice, alice, { ...alice }]), new Set());
  assert.deepEqual(clashingNames([alice, impostor]), new Set(["alice"]));
  assert.deepEqual(clashingNames([plainAlice, impostor]), new Set(["alice"]));
  assert.deepEqual(clashingNames([alice, { ...impostor, display_name: "ALICE\u200b" }]), new Set(["alice"]));
  assert.deepEqual(clashingNames([alice, guest]), new Set(["alice"])); // a guest is someone else
  assert.deepEqual(clashingNames([guest, { ...guest }]), new Set()); // guests are their name
});

test("the username shows when it differs from the display name, or when names clash", () => {
  assert.equal(showsUsername(plainAlice), false);
  assert.equal(showsUsername({ ...plainAlice, display_name: "ALICE" }), false); // only case
  assert.equal(showsUsername(alice), false);
  assert.equal(showsUsername(impostor), true);
  assert.equal(showsUsername({ ...alice, display_name: "Alice Liddell" }), true);
  const clashes = clashingNames([plainAlice, impostor]);
  assert.equal(showsUsername(plainAlice, clashes), true); // the real one shows hers too
  assert.equal(showsUsername(impostor, clashes), true);
  assert.equal(showsUsername(guest, clashes), false); // no username: marked as a guest instead
});

test("labels and tooltips always say who it really is", () => {
  assert.equal(authorText(impostor), "Alice (@mallory)");
  assert.equal(authorText(alice), "Alice");
  assert.equal(authorText(alice, clashingNames([alice, impostor])), "Alice (@alice)");
  assert.equal(authorText(guest), "Alice (guest)");
  assert.equal(authorTitle(alice), "@alice");
  assert.equal(authorTitle(impostor), "@mallory");
  assert.match(authorTitle(guest), /^Guest/);
});

test("display names of nothing but invisible characters are caught before the server refuses them", () => {
  for (const name of ["\u200b", "\u200b\u200c\u200d", "\u3164", "\u2800\u00a0", "\u0301", "\ufeff"]) {
    assert.equal(isInvisibleName(name), true, JSON.stringify(name));
  }
  for (const name of ["Alice", "\u200bA", "😀", "李", "a\u0301"]) {
    assert.equal(isInvisibleName(name), false, JSON.stringify(name));
  }
});
