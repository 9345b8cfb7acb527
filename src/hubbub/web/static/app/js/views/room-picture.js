// A room's picture (Room.avatar_url) where the page names the room: the sidebar and the room's
// header. Without one, or when it cannot load, whatever showed before (the room's icon).

import { h } from "../dom.js";

/**
 * The room's picture, else `fallback`.
 * @param {{avatar_url?: string | null}} room
 * @param {Node | null} fallback  shown without a picture (and if it fails to load)
 * @param {string} [cls]  more classes ("room-picture-large" in the header)
 * @returns {Node | null}
 */
export function roomPicture(room, fallback, cls = "") {
  const url = room.avatar_url;
  if (!url) return fallback;
  const el = h("span", { class: `room-picture ${cls}`.trim(), "aria-hidden": "true" });
  const img = h("img", { src: url, alt: "", width: 36, height: 36, decoding: "async" });
  img.addEventListener("error", () => el.replaceWith(fallback || h("span")));
  el.append(img);
  return el;
}

/**
 * The header's picture slot (#room-picture): the room's picture, or nothing.
 * @param {HTMLElement} slot
 * @param {{avatar_url?: string | null, kind?: string} | null | undefined} room
 */
export function showRoomPicture(slot, room) {
  const url = room && room.kind !== "dm" ? room.avatar_url : null;
  const shown = slot.querySelector("img");
  if (url && shown && shown.getAttribute("src") === url) return; // unchanged: no reload
  slot.replaceChildren();
  slot.hidden = !url;
  if (room && url) {
    const pic = roomPicture(room, null, "room-picture-large");
    if (pic) slot.append(pic);
  }
}
