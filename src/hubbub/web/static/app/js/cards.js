// An integration's cards (#19: Slack's legacy attachments, kept by the server as a message's
// `cards`): what of a card's server-given values may reach the page's styles and links. Pure,
// so the rules are tested on their own (tests/js/cards.test.js); views/cards.js builds the DOM.

import { linkHref } from "./markdown.js";

/** Slack's named colours, as Slack shows them. */
const NAMED = new Map([
  ["good", "#2eb886"],
  ["warning", "#daa038"],
  ["danger", "#a30200"],
]);

const HEX = /^#?([0-9a-f]{3}|[0-9a-f]{6})$/i;

/**
 * The CSS colour of a card's left border: a hex colour (`#36a64f`, `#abc`, or without the `#`
 * as some tools send it) or one of Slack's names; null for anything else, so no other string
 * ever reaches a style.
 * @param {unknown} color
 * @returns {string | null}
 */
export function cardColor(color) {
  if (typeof color !== "string") return null;
  const named = NAMED.get(color.trim().toLowerCase());
  if (named) return named;
  const hex = HEX.exec(color.trim());
  return hex ? `#${hex[1].toLowerCase()}` : null;
}

/**
 * Where a card's title links to: an http(s) URL only (the server allows no other, and the page
 * checks again); null means the title is plain text.
 * @param {unknown} url
 * @returns {string | null}
 */
export function cardLink(url) {
  if (typeof url !== "string" || !url) return null;
  const href = linkHref(url);
  return href && /^https?:/i.test(href) ? href : null;
}

/**
 * A card's `ts` (Unix seconds) as an ISO time, or null when absent or not a sane number.
 * @param {unknown} ts
 * @returns {string | null}
 */
export function cardTime(ts) {
  if (typeof ts !== "number" || !Number.isFinite(ts) || ts <= 0 || ts > 1e11) return null;
  return new Date(Math.round(ts * 1000)).toISOString();
}

/**
 * The card's fields in rows, as Slack lays them out: two short fields share a row, a long one
 * has a row of its own.
 * @template {{short?: boolean}} F
 * @param {F[]} fields
 * @returns {F[][]}
 */
export function fieldRows(fields) {
  /** @type {F[][]} */
  const rows = [];
  for (const f of fields) {
    const last = rows[rows.length - 1];
    if (f.short && last && last.length === 1 && last[0].short) last.push(f);
    else rows.push([f]);
  }
  return rows;
}

/**
 * A message's cards as one line of plain text (their titles, else pretexts or fallbacks): what a
 * search result shows for a message that is only cards.
 * @param {{cards?: unknown}} m
 */
export function cardsSummary(m) {
  const cards = Array.isArray(m.cards) ? m.cards : [];
  return cards
    .map((c) => c.title || c.pretext || c.fallback || c.text || "")
    .filter(Boolean)
    .join(" · ");
}
