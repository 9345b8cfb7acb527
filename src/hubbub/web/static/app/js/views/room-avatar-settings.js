// A room's picture in room settings (#19 web client), for its owner and admins: choose one
// (PUT /rooms/{id}/avatar; the server crops it to a square) or remove it. Everyone in the room
// sees the change through room.updated; this page takes the answer at once.

import { seg } from "../api.js";
import { $, h } from "../dom.js";
import { icon } from "../icons.js";
import { mountPictureControl } from "./picture-control.js";
import { roomPicture } from "./room-picture.js";

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 */
export function mountRoomAvatarSettings({ client }) {
  const store = client.store;
  const preview = $("room-avatar-preview");
  /** @type {string | null} */
  let roomId = null;
  const control = mountPictureControl({
    client,
    prefix: "room-avatar",
    path: () => (roomId ? `/rooms/${seg(roomId)}/avatar` : null),
    take: (/** @type {import("../store.js").Room} */ room) => {
      store.mergeRoom(room);
      store.emit("rooms");
    },
    saved: "Saved. Everyone in the room now sees its picture.",
    refusals: { not_allowed: "Only the room's owner and admins can change its picture." },
  });

  function render() {
    const room = roomId ? store.rooms.get(roomId) : undefined;
    if (!room) return;
    const fallback = h("span", { class: "room-icon", "aria-hidden": "true" }, icon(room.visibility === "private" ? "lock" : "hash"));
    preview.replaceChildren(roomPicture(room, fallback, "room-picture-large") || fallback);
    control.setRemovable(!room.avatar_url);
  }

  store.addEventListener("rooms", () => roomId && render());

  return {
    /**
     * The dialog opens on a room: its picture now, no old messages.
     * @param {string | null} id
     */
    reset(id) {
      roomId = id;
      control.clear();
      render();
    },
  };
}
