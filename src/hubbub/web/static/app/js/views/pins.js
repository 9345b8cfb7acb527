// A room's pinned messages (#17), the latest pin first, kept live by message.pinned and
// message.unpinned while shown.

import { h } from "../dom.js";
import { canPin } from "./message-extras.js";
import { listOrEmpty, messageItem } from "./side-list.js";

/**
 * @typedef {import("../store.js").Message} Message
 */

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./side-panel.js").SidePanel} o.panel
 * @param {(m: Message) => void} o.onOpen
 * @param {(err: unknown) => void} o.onError
 */
export function mountPins({ client, panel, onOpen, onError }) {
  /** @type {string | null} */
  let roomId = null;
  /** @type {Message[]} */
  let pins = [];

  const owner = () => `pins:${roomId}`;

  function render() {
    if (!roomId || panel.owner() !== owner()) return;
    panel.update(
      listOrEmpty(
        pins.map((m) =>
          messageItem(client, m, {
            onOpen: () => onOpen(m),
            label: "Show in the room",
            extra: canPin(client, m)
              ? h("button", { type: "button", class: "link-button", onclick: () => client.conversations.pin(m, false).catch(onError) }, "Unpin")
              : null,
          }),
        ),
        "Nothing is pinned in this room.",
      ),
    );
  }

  async function load() {
    const id = roomId;
    if (!id) return;
    try {
      const list = await client.conversations.pins(id);
      if (id !== roomId) return;
      pins = list;
      render();
    } catch (err) {
      onError(err);
    }
  }

  client.store.addEventListener("pins", (e) => {
    const d = /** @type {CustomEvent<{roomId: string}>} */ (e).detail;
    if (d.roomId === roomId && panel.owner() === owner()) load();
  });

  return {
    /** @param {string} id */
    open(id) {
      roomId = id;
      pins = [];
      const room = client.store.rooms.get(id);
      panel.show(owner(), room ? `Pinned in ${room.kind === "dm" ? "this conversation" : `#${room.name}`}` : "Pinned", h("p", { class: "empty" }, "Loading…"));
      load();
    },
  };
}
