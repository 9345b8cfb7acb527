// Mentions (#17): a room's mention badge in the sidebar, and the Mentions view (GET
// /mentions): the messages that mention me, newest first.

import { h } from "../dom.js";
import { listOrEmpty, messageItem } from "./side-list.js";

/**
 * @typedef {import("../store.js").Message} Message
 * @typedef {import("../store.js").Room} Room
 */

/**
 * "@3" beside a room's unread badge: unread messages that mention me.
 * @param {Room} room
 */
export function mentionBadge(room) {
  const n = room.mention_count || 0;
  if (!n) return null;
  return h(
    "span",
    { class: "badge mention-badge", "aria-label": `${n} ${n === 1 ? "mention" : "mentions"}`, title: "Unread mentions of you" },
    `@${n > 99 ? "99+" : n}`,
  );
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./side-panel.js").SidePanel} o.panel
 * @param {(m: Message) => void} o.onOpen  show the message where it is
 * @param {(err: unknown) => void} o.onError
 */
export function mountMentions({ client, panel, onOpen, onError }) {
  /** @type {Message[]} */
  let messages = [];
  /** @type {string | null} */
  let next = null;

  function render() {
    if (panel.owner() !== "mentions") return;
    panel.update([
      listOrEmpty(
        messages.map((m) => messageItem(client, m, { onOpen: () => onOpen(m) })),
        "Nobody has mentioned you yet.",
      ),
      next
        ? h("button", { type: "button", class: "small", onclick: () => load(true) }, "Older mentions")
        : null,
    ]);
  }

  /** @param {boolean} more */
  async function load(more) {
    try {
      const page = await client.conversations.mentions(more ? next : null);
      messages = more ? [...messages, ...page.messages] : page.messages;
      next = page.next_before;
      render();
    } catch (err) {
      onError(err);
    }
  }

  return {
    open() {
      messages = [];
      next = null;
      panel.show("mentions", "Mentions", h("p", { class: "empty" }, "Loading…"));
      load(false);
    },
    /** A new message that mentions me arrived: the open view shows it. */
    refresh() {
      if (panel.owner() === "mentions") load(false);
    },
  };
}
