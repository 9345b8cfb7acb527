// Message search on the client (#16): the query's filters as the chips read and edit them,
// and the server's code-point highlights cut into marked pieces of UTF-16 text.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  excerpt,
  filterText,
  hasFilter,
  markPieces,
  queryFilters,
  queryWords,
  withFilter,
  withoutFilter,
  withoutRange,
} from "../../src/hubbub/web/static/app/js/search-query.js";

const marked = (pieces) => pieces.filter((p) => p.mark).map((p) => p.text);
const joined = (pieces) => pieces.map((p) => p.text).join("");

test("filters are read as the server reads them, with where each is", () => {
  const q = 'deploy FROM:@Alice in:#ops has:LINK before:2026-12-01 after:"2026-11-01" "in:x" -from:bob issue:12';
  const filters = queryFilters(q);
  assert.deepEqual(
    filters.map((f) => [f.key, f.value]),
    [
      ["from", "Alice"],
      ["in", "ops"],
      ["has", "link"],
      ["before", "2026-12-01"],
      ["after", "2026-11-01"],
    ],
  );
  for (const f of filters) assert.match(q.slice(f.start, f.end), new RegExp(`^${f.key}:`, "i"));
  // A quoted piece, an excluded filter (the server refuses it) and an unknown key are not chips.
  assert.equal(queryWords(q), 'deploy "in:x" -from:bob issue:12');
});

test("a key without a value, and a quoted value with spaces", () => {
  assert.deepEqual(queryFilters("from: cafe"), []);
  assert.deepEqual(queryFilters("from:"), []);
  const [f] = queryFilters('in:"team room" notes');
  assert.deepEqual([f.key, f.value, f.start, f.end], ["in", "team room", 0, 14]);
  assert.equal(filterText("in", "team room"), 'in:"team room"');
  assert.equal(filterText("from", "alice"), "from:alice");
});

test("chips add, replace and remove filters in the query text", () => {
  assert.equal(withFilter("", "has", "link"), "has:link");
  assert.equal(withFilter("release", "from", "alice"), "release from:alice");
  assert.equal(withFilter("release from:alice", "from", "ALICE"), "release from:alice", "once");
  assert.equal(withFilter("release from:alice", "from", "bob"), "release from:alice from:bob");
  assert.equal(withFilter("x before:2026-01-01 y", "before", "2026-02-02"), "x y before:2026-02-02");
  assert.equal(withFilter("x", "in", "team room"), 'x in:"team room"');
  assert.equal(withoutFilter("release from:alice has:link", "from"), "release has:link");
  assert.equal(withoutFilter("a from:alice from:bob b", "from", "bob"), "a from:alice b");
  assert.equal(withoutFilter("has:link", "has", "link"), "");
  assert.ok(hasFilter("x HAS:Link", "has", "link"));
  assert.ok(!hasFilter("x has:link", "has", "file"));
  const q = "a in:ops b";
  const [f] = queryFilters(q);
  assert.equal(withoutRange(q, f.start, f.end), "a b");
});

test("highlights in code points mark the same characters in UTF-16 strings", () => {
  // Two emoji and a mathematical letter (two UTF-16 units each) before the match.
  const text = "🎉🎉 \u{1d4b3} party at the café, bring 😀 cafe snacks";
  const points = (/** @type {number} */ unit) => Array.from(text.slice(0, unit)).length;
  const start = points(text.indexOf("café"));
  const second = points(text.indexOf("cafe "));
  assert.deepEqual([start, second, text.indexOf("café"), text.indexOf("cafe ")], [18, 32, 21, 36]);
  const pieces = markPieces(text, [
    [start, start + 4],
    [second, second + 4],
  ]);
  assert.deepEqual(marked(pieces), ["café", "cafe"]);
  assert.equal(joined(pieces), text);
  // The emoji itself as a match.
  assert.deepEqual(marked(markPieces("party 🎉!", [[6, 7]])), ["🎉"]);
  // A whole text, and none.
  assert.deepEqual(markPieces("Café", [[0, 4]]), [{ text: "Café", mark: true }]);
  assert.deepEqual(markPieces("plain", []), [{ text: "plain", mark: false }]);
});

test("highlights out of order, overlapping or past the end are clamped", () => {
  const pieces = markPieces("abcdef", [
    [4, 99],
    [0, 2],
    [1, 3],
  ]);
  assert.deepEqual(pieces, [
    { text: "ab", mark: true },
    { text: "c", mark: true },
    { text: "d", mark: false },
    { text: "ef", mark: true },
  ]);
  assert.equal(joined(markPieces("x😀y", [[10, 12]])), "x😀y");
});

test("an excerpt of a long message keeps its first match and moves the highlights", () => {
  const words = Array.from({ length: 200 }, (_, i) => `w${i}`);
  words[150] = "🎯target";
  const text = words.join(" ");
  const chars = Array.from(text);
  const at = chars.indexOf("t", chars.indexOf("🎯"));
  const cut = excerpt(text, [[at, at + 6]], 80);
  assert.ok(Array.from(cut.text).length <= 82, cut.text);
  assert.ok(cut.text.startsWith("…") && cut.text.endsWith("…"));
  assert.deepEqual(marked(markPieces(cut.text, cut.highlights)), ["target"]);
  // Short texts come back whole.
  assert.deepEqual(excerpt("short", [[0, 5]]), { text: "short", highlights: [[0, 5]] });
});
