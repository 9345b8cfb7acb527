// Bidirectional control characters in text people wrote: shown, never obeyed.
//
// A right-to-left override (U+202E) makes what follows it read backwards: "gnp\u202e.exe"
// displays as "gnpexe.", a name can run into the text after it. Text from others is split into
// plain runs and one visible marker per control character (⟨U+202E⟩), so none of them reaches
// the page as a character; every element holding such text is also a bidi isolate (`<bdi>`,
// `dir="auto"`), so even plain right-to-left letters cannot pull neighbouring text around.

import { h } from "./dom.js";

/** The characters shown as markers, with their Unicode names (for the marker's tooltip). */
export const BIDI_CONTROLS = new Map([
  ["\u061c", "ARABIC LETTER MARK"],
  ["\u200e", "LEFT-TO-RIGHT MARK"],
  ["\u200f", "RIGHT-TO-LEFT MARK"],
  ["\u202a", "LEFT-TO-RIGHT EMBEDDING"],
  ["\u202b", "RIGHT-TO-LEFT EMBEDDING"],
  ["\u202c", "POP DIRECTIONAL FORMATTING"],
  ["\u202d", "LEFT-TO-RIGHT OVERRIDE"],
  ["\u202e", "RIGHT-TO-LEFT OVERRIDE"],
  ["\u2066", "LEFT-TO-RIGHT ISOLATE"],
  ["\u2067", "RIGHT-TO-LEFT ISOLATE"],
  ["\u2068", "FIRST STRONG ISOLATE"],
  ["\u2069", "POP DIRECTIONAL ISOLATE"],
]);

const CONTROL = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

/**
 * A run of text to show as it is, or one control character to show as a marker.
 * @typedef {{kind: "text", text: string}
 *   | {kind: "control", char: string, label: string, name: string}} Segment
 */

/**
 * "U+202E" for a character.
 * @param {string} char
 */
export function codePoint(char) {
  const hex = (char.codePointAt(0) ?? 0).toString(16).toUpperCase();
  return `U+${hex.padStart(4, "0")}`;
}

/**
 * `text` split into runs without bidi controls and one segment per control, in order; the
 * segments' characters joined give back `text`. Empty runs are left out.
 * @param {string} text
 * @returns {Segment[]}
 */
export function bidiSegments(text) {
  /** @type {Segment[]} */
  const out = [];
  let last = 0;
  for (const match of text.matchAll(CONTROL)) {
    const at = match.index ?? 0;
    if (at > last) out.push({ kind: "text", text: text.slice(last, at) });
    const char = match[0];
    out.push({ kind: "control", char, label: `⟨${codePoint(char)}⟩`, name: BIDI_CONTROLS.get(char) || "" });
    last = at + char.length;
  }
  if (last < text.length) out.push({ kind: "text", text: text.slice(last) });
  return out;
}

/**
 * True if `text` holds a bidi control character.
 * @param {string} text
 */
export function hasBidiControl(text) {
  return text.search(CONTROL) >= 0;
}

/**
 * `text` with its bidi controls removed (for places that cannot hold a marker: initials,
 * tooltips).
 * @param {string} text
 */
export function withoutBidiControls(text) {
  return text.replace(CONTROL, "");
}

/**
 * Text as DOM nodes: text nodes for the runs, a `<span class="bidi-mark">` showing each control
 * character's code point (its name on hover). Never parsed as HTML.
 * @param {string} text
 */
export function visibleText(text) {
  const frag = document.createDocumentFragment();
  for (const seg of bidiSegments(text)) {
    if (seg.kind === "text") frag.append(seg.text);
    else frag.append(h("span", { class: "bidi-mark", title: `${seg.name} (${codePoint(seg.char)})` }, seg.label));
  }
  return frag;
}

/**
 * Someone's text on one line of the page, as an isolate (`<bdi>`): its direction comes from its
 * own letters and it cannot reorder what is around it.
 * @param {string} text
 * @param {Record<string, string>} [attrs]
 */
export function isolated(text, attrs = {}) {
  return h("bdi", attrs, visibleText(text));
}
