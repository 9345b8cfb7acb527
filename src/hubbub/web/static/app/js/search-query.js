// Message search (#16) on the client's side, without the DOM: the query's filters as the chips
// show and edit them, and the server's highlights (code-point offsets) as pieces of text.
//
// The query is read the way the server reads it (textsearch.py, docs/api.md): pieces split by
// spaces, `"a phrase"`, `key:"a value"`, and the filters from:, in:, has:, before:, after:
// (a `-` before a filter is an error the server reports, so it is no chip here). Chips edit
// the query text itself: what is typed stays the one source of the search.

/** The filters the query language has. */
export const FILTER_KEYS = ["from", "in", "has", "before", "after"];

// One piece, as the server's _PIECE: (-)("phrase" | key:"value" | bare).
const PIECE = /(-?)(?:"([^"]*)"?|([A-Za-z]+):"([^"]*)"?|(\S+))/g;

/**
 * A filter in the query, where it is: `q.slice(start, end)` is its text.
 * @typedef {object} Filter
 * @property {string} key  "from", "in", "has", "before" or "after" (lower case)
 * @property {string} value  as typed, without quotes; `from:@alice` gives "alice", `in:#ops` "ops"
 * @property {number} start
 * @property {number} end
 */

/**
 * The filters in a query, in order.
 * @param {string} q
 * @returns {Filter[]}
 */
export function queryFilters(q) {
  /** @type {Filter[]} */
  const out = [];
  for (const m of q.matchAll(PIECE)) {
    if (m[1] === "-") continue;
    let key = m[3];
    let value = m[4];
    const bare = m[5];
    if (bare !== undefined && bare.includes(":")) {
      const at = bare.indexOf(":");
      key = bare.slice(0, at);
      value = bare.slice(at + 1);
    }
    if (key === undefined || value === undefined || !FILTER_KEYS.includes(key.toLowerCase())) continue;
    const name = key.toLowerCase();
    value = value.trim();
    if (!value) continue;
    if (name === "from") value = value.replace(/^@/, "");
    else if (name === "in") value = value.replace(/^#/, "");
    else if (name === "has") value = value.toLowerCase();
    const start = m.index ?? 0;
    out.push({ key: name, value, start, end: start + m[0].length });
  }
  return out;
}

/**
 * The query's words: everything that is not a filter (what the status line repeats).
 * @param {string} q
 */
export function queryWords(q) {
  let out = q;
  for (const f of queryFilters(q).reverse()) out = out.slice(0, f.start) + out.slice(f.end);
  return out.replace(/\s+/g, " ").trim();
}

/**
 * The query without the text from `start` to `end` (a filter), spaces tidied.
 * @param {string} q
 * @param {number} start
 * @param {number} end
 */
export function withoutRange(q, start, end) {
  return `${q.slice(0, start).trimEnd()} ${q.slice(end).trimStart()}`.trim();
}

/**
 * A filter as typed: `key:value`, quoted when the value holds a space or a quote-free phrase.
 * @param {string} key
 * @param {string} value
 */
export function filterText(key, value) {
  const v = value.replace(/"/g, "");
  return /\s/.test(v) ? `${key}:"${v}"` : `${key}:${v}`;
}

/**
 * The query with filter `key` set to `value`. from: and in: may be given more than once
 * (a second one is added, unless the same value is there); has: adds its value once;
 * before: and after: have one value, which replaces any other.
 * @param {string} q
 * @param {string} key
 * @param {string} value
 */
export function withFilter(q, key, value) {
  const filters = queryFilters(q);
  const same = filters.filter((f) => f.key === key);
  if (same.some((f) => f.value.toLowerCase() === value.toLowerCase())) return q;
  let out = q;
  if (key === "before" || key === "after") {
    for (const f of same.reverse()) out = withoutRange(out, f.start, f.end);
  }
  return `${out.trimEnd()} ${filterText(key, value)}`.trim();
}

/**
 * The query without any filter `key` (of `value`, when given).
 * @param {string} q
 * @param {string} key
 * @param {string} [value]
 */
export function withoutFilter(q, key, value) {
  let out = q;
  const drop = queryFilters(q).filter(
    (f) => f.key === key && (value === undefined || f.value.toLowerCase() === value.toLowerCase()),
  );
  for (const f of drop.reverse()) out = withoutRange(out, f.start, f.end);
  return out;
}

/**
 * Whether the query has filter `key` (with `value`, when given).
 * @param {string} q
 * @param {string} key
 * @param {string} [value]
 */
export function hasFilter(q, key, value) {
  return queryFilters(q).some(
    (f) => f.key === key && (value === undefined || f.value.toLowerCase() === value.toLowerCase()),
  );
}

/**
 * A piece of a message's text, marked or not.
 * @typedef {{text: string, mark: boolean}} Piece
 */

/**
 * `text` cut into pieces at the highlights. The server counts in code points; JavaScript
 * strings in UTF-16 units, where an emoji or another character beyond U+FFFF takes two: each
 * offset is converted, so a highlight after (or on) such a character marks what it meant.
 * Highlights out of order, overlapping or past the end are clamped, never thrown on.
 * @param {string} text
 * @param {number[][]} highlights  [start, end) in code points
 * @returns {Piece[]}
 */
export function markPieces(text, highlights) {
  const units = unitOffsets(text);
  const points = units.length - 1;
  /** @type {Piece[]} */
  const out = [];
  let at = 0; // in code points
  for (const [rawStart, rawEnd] of [...highlights].sort((a, b) => a[0] - b[0])) {
    const start = Math.max(at, Math.min(rawStart, points));
    const end = Math.max(start, Math.min(rawEnd, points));
    if (end === start) continue;
    if (start > at) out.push({ text: text.slice(units[at], units[start]), mark: false });
    out.push({ text: text.slice(units[start], units[end]), mark: true });
    at = end;
  }
  if (at < points) out.push({ text: text.slice(units[at]), mark: false });
  return out;
}

/**
 * For each code point of `text`, the UTF-16 offset it starts at; then the length.
 * @param {string} text
 */
function unitOffsets(text) {
  const out = [0];
  let at = 0;
  for (const ch of text) {
    at += ch.length;
    out.push(at);
  }
  return out;
}

/**
 * A long message's part around its first highlight: at most `max` code points, cut at spaces
 * where it can be, with "…" where text was left out. Short texts come back whole.
 * @param {string} text
 * @param {number[][]} highlights  [start, end) in code points
 * @param {number} [max]
 * @returns {{text: string, highlights: number[][]}} the highlights moved to the excerpt
 */
export function excerpt(text, highlights, max = 240) {
  const chars = Array.from(text);
  if (chars.length <= max) return { text, highlights };
  const first = highlights.length ? highlights[0][0] : 0;
  let from = Math.max(0, Math.min(first - Math.floor(max / 4), chars.length - max));
  let to = Math.min(chars.length, from + max);
  // Whole words at both ends, when a space is near.
  if (from > 0) {
    const space = chars.slice(from, Math.min(first, from + 20)).indexOf(" ");
    if (space >= 0) from += space + 1;
  }
  if (to < chars.length) {
    const space = chars.slice(Math.max(from, to - 20), to).lastIndexOf(" ");
    if (space >= 0) to = Math.max(from, to - 20) + space;
  }
  const lead = from > 0 ? "…" : "";
  const shift = from - lead.length;
  const moved = highlights
    .map(([s, e]) => [Math.max(s, from) - shift, Math.min(e, to) - shift])
    .filter(([s, e]) => e > s);
  return { text: lead + chars.slice(from, to).join("") + (to < chars.length ? "…" : ""), highlights: moved };
}
