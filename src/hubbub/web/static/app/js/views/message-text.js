// A message's text as the timeline, the thread panel and the lists of mentions and pins show
// it: Markdown (markdown.js) with @mentions highlighted, mine stronger.

import { h } from "../dom.js";
import { renderMarkdown } from "../markdown-dom.js";

/**
 * @typedef {import("../store.js").Message} Message
 * @typedef {import("../store.js").Store} Store
 */

/**
 * How an @name in `m` shows: "me" when it is me (or @room / @here that reached me), "other" for
 * someone the page knows in that room, else null (plain text: nobody was mentioned).
 * @param {Store} store
 * @param {Pick<Message, "room_id" | "author"> & {mentions?: Message["mentions"]}} m
 * @returns {(name: string) => "me" | "other" | null}
 */
export function mentionStyle(store, m) {
  const me = store.me ? store.me.username.toLowerCase() : "";
  const mine = !!(store.me && m.author && m.author.id === store.me.id);
  /** @type {Set<string> | null} */
  let known = null;
  return (name) => {
    const lower = name.toLowerCase();
    if (lower === "room" || lower === "here") {
      const used = m.mentions ? m.mentions[lower] : true;
      return used ? (mine ? "other" : "me") : null;
    }
    if (lower === me) return "me";
    if (!known) {
      known = new Set();
      for (const p of store.peopleIn(m.room_id)) if (p.username) known.add(p.username.toLowerCase());
    }
    return known.has(lower) ? "other" : null;
  };
}

/**
 * The text block of a message (class "text md"); `edited` adds the "(edited)" marker at the end
 * of its last paragraph.
 * @param {Store} store
 * @param {Pick<Message, "room_id" | "author" | "text"> & {mentions?: Message["mentions"]}} m
 * @param {string | null} [edited]  the edit's full date, for its title
 */
export function messageText(store, m, edited = null) {
  const blocks = renderMarkdown(m.text, { mention: mentionStyle(store, m) });
  // A message of one paragraph (most are) holds its text directly, without a <p> around it.
  const only = blocks.childNodes.length === 1 ? blocks.firstChild : null;
  const body = h("div", { class: "text md", dir: "auto" }, only instanceof HTMLParagraphElement ? [...only.childNodes] : blocks);
  if (edited) {
    const marker = h("span", { class: "edited", title: `Edited ${edited}` }, "(edited)");
    const last = body.lastElementChild;
    (last && last.tagName === "P" && last === body.lastChild ? last : body).append(" ", marker);
  }
  return body;
}
