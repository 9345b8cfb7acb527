// Bidi control characters in text from others are shown as markers, never obeyed: the pure
// splitting that the page's text rendering (bidi.js visibleText) is built on.

import assert from "node:assert/strict";
import { test } from "node:test";

import {
  BIDI_CONTROLS,
  bidiSegments,
  codePoint,
  hasBidiControl,
  withoutBidiControls,
} from "../../src/hubbub/web/static/app/js/bidi.js";

/** The segments as the page shows them: runs as they are, controls as their markers. */
const shown = (text) => bidiSegments(text).map((s) => (s.kind === "text" ? s.text : s.label)).join("");

test("a right-to-left override in a file name becomes a marker, the rest stays in order", () => {
  assert.deepEqual(bidiSegments("gnp\u202e.exe"), [
    { kind: "text", text: "gnp" },
    { kind: "control", char: "\u202e", label: "⟨U+202E⟩", name: "RIGHT-TO-LEFT OVERRIDE" },
    { kind: "text", text: ".exe" },
  ]);
  assert.equal(shown("gnp\u202e.exe"), "gnp⟨U+202E⟩.exe");
  assert.equal(hasBidiControl(shown("gnp\u202e.exe")), false); // nothing left to obey
});

test("every listed control is a marker of its own, adjacent ones included", () => {
  const all = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c";
  const segments = bidiSegments(all);
  assert.equal(segments.length, 12);
  assert.ok(segments.every((s) => s.kind === "control" && s.name === BIDI_CONTROLS.get(s.char)));
  assert.deepEqual(
    segments.map((s) => s.label),
    ["202A", "202B", "202C", "202D", "202E", "2066", "2067", "2068", "2069", "200E", "200F", "061C"].map(
      (hex) => `⟨U+${hex}⟩`,
    ),
  );
  assert.equal(BIDI_CONTROLS.size, 12);
});

test("text without controls is one run; empty text is no segment", () => {
  assert.deepEqual(bidiSegments("hello, שלום, مرحبا"), [{ kind: "text", text: "hello, שלום, مرحبا" }]);
  assert.deepEqual(bidiSegments(""), []);
  // Look-alikes that are not direction controls stay text (zero-width space, joiner, NBSP).
  assert.deepEqual(bidiSegments("a\u200bb\u200dc\u00a0d"), [{ kind: "text", text: "a\u200bb\u200dc\u00a0d" }]);
});

test("segments give back the text exactly, with surrogate pairs intact", () => {
  const text = "😀\u2067abc\u2069 x\u202e\u202c😀 end\u200f";
  assert.equal(bidiSegments(text).map((s) => (s.kind === "text" ? s.text : s.char)).join(""), text);
  assert.equal(shown(text), "😀⟨U+2067⟩abc⟨U+2069⟩ x⟨U+202E⟩⟨U+202C⟩😀 end⟨U+200F⟩");
});

test("helpers: code points, detection, stripping for attributes", () => {
  assert.equal(codePoint("\u061c"), "U+061C");
  assert.equal(codePoint("😀"), "U+1F600");
  assert.equal(hasBidiControl("abc"), false);
  assert.equal(hasBidiControl("a\u2066b"), true);
  assert.equal(hasBidiControl("a\u2066b"), true); // a global regex keeps no state between calls
  assert.equal(withoutBidiControls("gnp\u202e.exe"), "gnp.exe");
});
