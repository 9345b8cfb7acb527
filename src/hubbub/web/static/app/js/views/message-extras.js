// What #17 adds to a message row: the "Reply in thread" and pin actions, the thread summary under
// a root (reply count and who replied), and the pinned marker. The timeline calls these; the
// thread panel (thread-panel.js) listens for the "hubbub:open-thread" event they send.

import { withoutBidiControls } from "../bidi.js";
import { h } from "../dom.js";
import { displayName } from "../names.js";
import { managesRoom } from "../roles.js";

/**
 * @typedef {import("../store.js").Message} Message
 * @typedef {import("../client.js").Client} Client
 */

export const OPEN_THREAD = "hubbub:open-thread";

/**
 * Ask the thread panel to show `m`'s thread (the event may carry `rootId` instead).
 * @param {Message} m  a top-level message
 */
export function openThread(m) {
  document.dispatchEvent(new CustomEvent(OPEN_THREAD, { detail: { message: m } }));
}

/**
 * I may pin and unpin in this message's room: owners and admins, or members where the room
 * allows it (and not while muted).
 * @param {Client} client
 * @param {Message} m
 */
export function canPin(client, m) {
  const room = client.store.rooms.get(m.room_id);
  if (!room || client.store.isMuted(m.room_id)) return false;
  return managesRoom(room, client.store.me) || !!room.members_can_pin;
}

/**
 * The actions #17 adds to a message: "Reply in thread" (top-level messages) and Pin / Unpin.
 * @param {Client} client
 * @param {Message} m
 * @param {(err: unknown) => void} onError
 */
export function conversationActions(client, m, onError) {
  if (m.deleted) return [];
  const pinned = !!m.pinned_at;
  return [
    m.thread_root
      ? null
      : h("button", { type: "button", dataset: { fk: `${m.seq}:thread` }, onclick: () => openThread(m) }, "Reply in thread"),
    canPin(client, m)
      ? h(
          "button",
          {
            type: "button",
            dataset: { fk: `${m.seq}:pin` },
            onclick: () => client.conversations.pin(m, !pinned).catch(onError),
          },
          pinned ? "Unpin" : "Pin",
        )
      : null,
  ];
}

/**
 * Under a thread root: "3 replies · Alice, Bob", opening the thread.
 * @param {Message} m
 */
export function threadSummary(m) {
  const t = m.thread;
  if (!t || m.deleted || !t.reply_count) return null;
  const names = t.participants.map((p) => withoutBidiControls(displayName(p))).join(", ");
  const count = `${t.reply_count} ${t.reply_count === 1 ? "reply" : "replies"}`;
  return h(
    "button",
    {
      type: "button",
      class: "thread-summary",
      dataset: { fk: `${m.seq}:summary` },
      "aria-label": `${count} from ${names}: open the thread`,
      onclick: () => openThread(m),
    },
    count,
    names ? h("span", { class: "participants" }, `· ${names}`) : null,
  );
}

/**
 * Above a message: "📌 Pinned" while pinned, and "Replied in a thread" on a thread reply also
 * sent to the room (opening the thread).
 * @param {Message} m
 */
export function pinnedMarker(m) {
  if (m.deleted) return null;
  const pinned = m.pinned_at
    ? h("span", { class: "pinned-marker", title: `Pinned ${new Date(m.pinned_at).toLocaleString()}` }, "📌 Pinned")
    : null;
  const root = m.thread_root;
  const context = root
    ? h(
        "button",
        {
          type: "button",
          class: "link-button thread-context",
          dataset: { fk: `${m.seq}:context` },
          onclick: () => document.dispatchEvent(new CustomEvent(OPEN_THREAD, { detail: { rootId: root } })),
        },
        "↪ Replied in a thread",
      )
    : null;
  return pinned || context ? h("div", { class: "msg-markers" }, pinned, context) : null;
}

/**
 * What of #17 a row shows, for the timeline's change signature.
 * @param {Client} client
 * @param {Message} m
 */
export function extrasSignature(client, m) {
  return [m.thread, m.pinned_at, m.mentions, m.thread_root, canPin(client, m)];
}
