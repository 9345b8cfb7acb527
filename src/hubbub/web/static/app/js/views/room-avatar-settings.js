// A room's picture in room settings (#19 web client), for its owner and admins: choose one
// (PUT /rooms/{id}/avatar; the server crops it to a square) or remove it. Everyone in the room
// sees the change through room.updated; this page takes the answer at once.

import { ApiError, seg } from "../api.js";
import { $, h } from "../dom.js";
import { icon } from "../icons.js";
import { sendFile, uploadFailure } from "../uploads.js";
import { roomPicture } from "./room-picture.js";

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 */
export function mountRoomAvatarSettings({ client }) {
  const store = client.store;
  const preview = $("room-avatar-preview");
  const choose = $("room-avatar-choose", HTMLButtonElement);
  const remove = $("room-avatar-remove", HTMLButtonElement);
  const picker = $("room-avatar-file", HTMLInputElement);
  const error = $("room-avatar-error");
  const status = $("room-avatar-status");
  /** @type {string | null} */
  let roomId = null;

  function render() {
    const room = roomId ? store.rooms.get(roomId) : undefined;
    if (!room) return;
    const fallback = h("span", { class: "room-icon", "aria-hidden": "true" }, icon(room.visibility === "private" ? "lock" : "hash"));
    preview.replaceChildren(roomPicture(room, fallback, "room-picture-large") || fallback);
    remove.hidden = !room.avatar_url;
  }

  /** @param {unknown} err */
  function reason(err) {
    if (err instanceof ApiError && err.code === "bad_image") return "That is not a picture the server can read: use PNG, JPEG, GIF or WebP.";
    if (err instanceof ApiError && err.code === "not_allowed") return "Only the room's owner and admins can change its picture.";
    return uploadFailure(err);
  }

  /** @param {import("../store.js").Room} room  the server's answer */
  function take(room) {
    store.mergeRoom(room);
    store.emit("rooms");
  }

  choose.addEventListener("click", () => picker.click());
  picker.addEventListener("change", async () => {
    const file = picker.files && picker.files[0];
    picker.value = "";
    const id = roomId;
    if (!file || !id) return;
    error.textContent = "";
    status.textContent = "Uploading…";
    choose.disabled = true;
    try {
      take(await sendFile({ method: "PUT", path: `/rooms/${seg(id)}/avatar`, file, token: client.session.token }));
      status.textContent = "Saved. Everyone in the room now sees its picture.";
    } catch (err) {
      status.textContent = "";
      error.textContent = reason(err);
    } finally {
      choose.disabled = false;
      choose.focus();
    }
  });
  remove.addEventListener("click", async () => {
    const id = roomId;
    if (!id) return;
    error.textContent = status.textContent = "";
    try {
      take(await client.api.del(`/rooms/${seg(id)}/avatar`));
      status.textContent = "Picture removed.";
      choose.focus();
    } catch (err) {
      error.textContent = reason(err);
    }
  });
  store.addEventListener("rooms", () => roomId && render());

  return {
    /**
     * The dialog opens on a room: its picture now, no old messages.
     * @param {string | null} id
     */
    reset(id) {
      roomId = id;
      error.textContent = status.textContent = "";
      render();
    },
  };
}
