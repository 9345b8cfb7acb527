// Wiring of #17's views: the side panel and what shows in it (a thread, Mentions, Threads, a
// room's pins), and the buttons that open them.

import { $ } from "../dom.js";
import { mountMentions } from "./mentions.js";
import { mountPins } from "./pins.js";
import { mountSidePanel } from "./side-panel.js";
import { mountThreadPanel } from "./thread-panel.js";
import { mountThreads } from "./threads.js";

/**
 * @typedef {import("../store.js").Message} Message
 */

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {(roomId: string, at?: number) => Promise<void>} o.onSelect  open a room (at message
 *   `at`, as a permalink does, when given)
 * @param {(err: unknown) => void} o.onError
 */
export function mountConversations({ client, onSelect, onError }) {
  const panel = mountSidePanel();
  const thread = mountThreadPanel({ client, panel, onError });

  /**
   * Show a message where it lives: its thread, or its row in the room's timeline.
   * @param {Message} m
   */
  async function show(m) {
    if (client.currentRoomId !== m.room_id) await onSelect(m.room_id);
    if (m.thread_root) return thread.openById(m.thread_root);
    const row = document.getElementById(`msg-${m.seq}`);
    // Not loaded (an old pin or mention): open the room there, as its permalink would (#13).
    if (!row) return onSelect(m.room_id, m.seq);
    row.scrollIntoView({ block: "center" });
    row.classList.add("flash");
    setTimeout(() => row.classList.remove("flash"), 1500);
    row.focus();
  }

  const mentions = mountMentions({ client, panel, onOpen: show, onError });
  const threads = mountThreads({
    client,
    panel,
    onOpen: async (t) => {
      if (client.currentRoomId !== t.root.room_id) await onSelect(t.root.room_id);
      thread.open(t.root);
    },
    onError,
  });
  const pins = mountPins({ client, panel, onOpen: show, onError });

  $("open-mentions").addEventListener("click", () => mentions.open());
  $("open-threads").addEventListener("click", () => threads.open());
  $("open-pins").addEventListener("click", () => {
    if (client.currentRoomId) pins.open(client.currentRoomId);
  });
  // A thread's news changes what the Threads view lists; a new mention, the Mentions view.
  client.store.addEventListener("thread", () => threads.refresh());
  let mentionTotal = 0;
  client.store.addEventListener("rooms", () => {
    let n = 0;
    for (const r of client.store.rooms.values()) n += r.mention_count || 0;
    if (n > mentionTotal) mentions.refresh();
    mentionTotal = n;
  });

  return { panel, thread };
}
