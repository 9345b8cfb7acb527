// An author's name as shown in the timeline, reply quotes and the members panel: the display
// name as an isolate (with bidi controls as markers), then `@username` in a muted style when it
// is needed to tell people apart (see names.js), or a "guest" tag, or a "BOT" badge (#19);
// `@username` always on hover.

import { isolated } from "../bidi.js";
import { h } from "../dom.js";
import { authorTitle, displayName, showsUsername } from "../names.js";

/**
 * @param {import("../store.js").Author & {kind?: string}} author  an Author, or a User (members)
 * @param {object} [o]
 * @param {Set<string>} [o.clashes]  name keys shared by different people on screen
 * @param {string} [o.nameClass]  the display name's class ("author" in message heads)
 * @param {boolean} [o.always]  show `@username` even where it is not needed
 * @param {"strong" | "span"} [o.tag]
 */
export function authorName(author, { clashes, nameClass = "author", always = false, tag = "span" } = {}) {
  const guest = author.guest || !author.id;
  return h(
    tag,
    { class: "author-name", title: authorTitle(author) },
    isolated(displayName(author), { class: nameClass }),
    author.username && (always || showsUsername(author, clashes))
      ? [" ", h("span", { class: "username" }, `@${author.username}`)]
      : null,
    guest ? h("span", { class: "tag guest-tag" }, "guest") : null,
    // #19: a bot account's message (author.bot) or a bot in a member list (kind)
    author.bot || author.kind === "bot" ? h("span", { class: "tag bot-tag", title: "A bot: an integration or a script" }, "BOT") : null,
  );
}
