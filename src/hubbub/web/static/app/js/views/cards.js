// A message's cards (#19), under its text: an integration's attachments as Slack shows them. A
// coloured left border (only a colour cards.js accepts), the pretext above, a title (a link for
// http(s) only), the text, the fields in a grid (two short ones to a row), the footer and time.
// Texts are the Markdown subset, built as DOM nodes (markdown-dom.js); nothing is HTML.

import { visibleText } from "../bidi.js";
import { h } from "../dom.js";
import { formatFull, formatWhen } from "../format.js";
import { renderMarkdown } from "../markdown-dom.js";
import { cardColor, cardLink, cardTime, fieldRows } from "../cards.js";

/**
 * @typedef {import("../shapes.js").Card} Card
 * @typedef {import("../shapes.js").CardField} CardField
 * @typedef {import("../markdown-dom.js").RenderOptions} RenderOptions
 */

/**
 * Markdown as a block (its one paragraph unwrapped, as message-text.js does).
 * @param {string} text
 * @param {string} cls
 * @param {RenderOptions} options
 */
function markdownBlock(text, cls, options) {
  const blocks = renderMarkdown(text, options);
  const only = blocks.childNodes.length === 1 ? blocks.firstChild : null;
  return h("div", { class: `${cls} md`, dir: "auto" }, only instanceof HTMLParagraphElement ? [...only.childNodes] : blocks);
}

/**
 * @param {CardField} f
 * @param {RenderOptions} options
 */
function field(f, options) {
  return h(
    "div",
    { class: `card-field${f.short ? " short" : ""}` },
    f.title ? h("dt", { dir: "auto" }, visibleText(f.title)) : null,
    h("dd", {}, f.value ? markdownBlock(f.value, "card-field-value", options) : null),
  );
}

/**
 * @param {Card} card
 * @param {RenderOptions} options
 */
function cardBox(card, options) {
  const title = card.title || "";
  const href = cardLink(card.title_link);
  const when = cardTime(card.ts);
  const fields = Array.isArray(card.fields) ? card.fields.filter((f) => f && (f.title || f.value)) : [];
  const parts = [
    title
      ? h(
          "div",
          { class: "card-title", dir: "auto" },
          href
            ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, visibleText(title))
            : h("strong", {}, visibleText(title)),
        )
      : null,
    card.text ? markdownBlock(card.text, "card-text", options) : null,
    fields.length
      ? h(
          "dl",
          { class: "card-fields" },
          fieldRows(fields).map((row) => h("div", { class: "card-field-row" }, ...row.map((f) => field(f, options)))),
        )
      : null,
    card.footer || when
      ? h(
          "p",
          { class: "card-footer" },
          card.footer ? h("span", { dir: "auto" }, visibleText(card.footer)) : null,
          card.footer && when ? " · " : null,
          when ? h("time", { datetime: when, title: formatFull(when) }, formatWhen(when)) : null,
        )
      : null,
  ];
  // A card of nothing but its notification text (Slack's `fallback`): that text, then.
  const empty = parts.every((p) => !p);
  const box = h(
    "div",
    { class: "card", role: "group", "aria-label": title ? `Card: ${title}` : "Card" },
    empty && card.fallback ? markdownBlock(card.fallback, "card-text", options) : parts,
  );
  const color = cardColor(card.color);
  if (color) {
    box.classList.add("has-color");
    box.style.setProperty("--card-color", color); // a checked colour only: cards.js
  }
  return box;
}

/**
 * The cards of `m` (null when it has none).
 * @param {{cards?: Card[]}} m
 * @param {RenderOptions} [options]  how @mentions in their texts show
 */
export function messageCards(m, options = {}) {
  const cards = Array.isArray(m.cards) ? m.cards : [];
  if (!cards.length) return null;
  return h(
    "div",
    { class: "cards" },
    cards.flatMap((card) => [
      card.pretext ? markdownBlock(card.pretext, "card-pretext", options) : null,
      cardBox(card, options),
    ]),
  );
}

