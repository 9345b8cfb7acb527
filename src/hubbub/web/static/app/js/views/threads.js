// The Threads view (#17): threads I follow that have unread replies (GET /threads?unread=true),
// or all I follow; opening one shows it in the thread panel.

import { h } from "../dom.js";
import { listOrEmpty, messageItem } from "./side-list.js";

/**
 * @typedef {import("../conversations.js").FollowedThread} FollowedThread
 */

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./side-panel.js").SidePanel} o.panel
 * @param {(t: FollowedThread) => void} o.onOpen
 * @param {(err: unknown) => void} o.onError
 */
export function mountThreads({ client, panel, onOpen, onError }) {
  let unreadOnly = true;
  /** @type {FollowedThread[]} */
  let threads = [];

  function render() {
    if (panel.owner() !== "threads") return;
    const toggle = h(
      "button",
      { type: "button", class: "small", "aria-pressed": String(!unreadOnly), onclick: () => ((unreadOnly = !unreadOnly), load()) },
      unreadOnly ? "Show all I follow" : "Show unread only",
    );
    panel.update([
      toggle,
      listOrEmpty(
        threads.map((t) =>
          messageItem(client, t.root, {
            onOpen: () => onOpen(t),
            label: "Open thread",
            extra: h(
              "p",
              { class: "small muted thread-unread" },
              `${t.root.thread?.reply_count ?? 0} replies`,
              t.unread_count ? h("strong", {}, ` · ${t.unread_count} unread`) : null,
            ),
          }),
        ),
        unreadOnly ? "No unread replies in threads you follow." : "You follow no threads yet.",
      ),
    ]);
  }

  async function load() {
    try {
      threads = await client.conversations.threads(unreadOnly);
      render();
    } catch (err) {
      onError(err);
    }
  }

  return {
    open() {
      unreadOnly = true;
      panel.show("threads", "Threads", h("p", { class: "empty" }, "Loading…"));
      load();
    },
    refresh() {
      if (panel.owner() === "threads") load();
    },
  };
}
