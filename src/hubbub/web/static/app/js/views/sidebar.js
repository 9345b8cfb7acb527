// The sidebar: my rooms and DMs with unread badges and presence, and public rooms to join.

import { isolated, withoutBidiControls } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { icon } from "../icons.js";
import { mentionBadge } from "./mentions.js";
import { roomPicture } from "./room-picture.js";

/** @typedef {import("../store.js").Room} Room */

/**
 * @param {{name: string}} a
 * @param {{name: string}} b
 */
const byName = (a, b) => a.name.localeCompare(b.name, undefined, { sensitivity: "base" });

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {(roomId: string) => void} o.onSelect
 * @param {(err: unknown) => void} o.onError
 */
export function mountSidebar({ client, onSelect, onError }) {
  const store = client.store;
  const roomList = $("room-list");
  const dmList = $("dm-list");
  const publicList = $("public-list");
  // A roving tabindex: the rooms and DMs are one Tab stop (the room last focused, else the one
  // on screen); arrow keys, Home and End move within them.
  /** @type {string | null} */
  let roving = null;

  /** @param {Room} room */
  function badge(room) {
    const n = room.unread_count || 0;
    if (!n) return null;
    return h("span", { class: "badge", "aria-label": `${n} unread` }, n > 99 ? "99+" : String(n));
  }

  /**
   * @param {Room} room
   * @param {string} label
   * @param {Node} icon
   */
  function item(room, label, icon) {
    const current = room.id === client.currentRoomId;
    const unread = (room.unread_count || 0) > 0;
    return h(
      "li",
      {},
      h(
        "button",
        {
          type: "button",
          class: `room-item${unread ? " unread" : ""}`,
          "aria-current": current ? "page" : null,
          tabindex: "-1",
          dataset: { roomId: room.id },
          onclick: () => onSelect(room.id),
        },
        icon,
        isolated(label, { class: "room-name" }),
        badge(room),
        mentionBadge(room), // #17
      ),
    );
  }

  /** @param {string} username */
  function presenceDot(username) {
    const online = store.isOnline(username);
    return h("span", {
      class: `dot${online ? " online" : ""}`,
      role: "img",
      "aria-label": online ? "online" : "offline",
      title: online ? "online" : "offline",
    });
  }

  function render() {
    // The lists are rebuilt: keep keyboard focus on the same room.
    const focused = /** @type {HTMLElement | null | undefined} */ (
      document.activeElement?.closest?.("#sidebar .room-item")
    )?.dataset.roomId;
    build();
    if (focused) {
      /** @type {HTMLElement | null} */ (
        document.querySelector(`#sidebar .room-item[data-room-id="${CSS.escape(focused)}"]`)
      )?.focus();
    }
  }

  function build() {
    const rooms = [...store.rooms.values()];
    const named = rooms.filter((r) => r.kind !== "dm").sort(byName);
    const dms = rooms
      .filter((r) => r.kind === "dm")
      .map((r) => ({ room: r, partner: store.dmPartner(r) ?? r.name })) // null only signed out
      .sort((a, b) => a.partner.localeCompare(b.partner));
    /** @param {Room} room */
    const hash = (room) =>
      h(
        "span",
        { class: "room-icon", title: room.visibility === "private" ? "Private room" : null },
        icon(room.visibility === "private" ? "lock" : "hash"),
      );
    // #19 web client: the room's picture where it has one
    replaceChildren(roomList, named.map((r) => item(r, r.name, roomPicture(r, hash(r)) || hash(r))));
    replaceChildren(dmList, dms.map(({ room, partner }) => item(room, partner, presenceDot(partner))));
    if (!dms.length) dmList.append(h("li", { class: "empty muted small" }, "No conversations yet."));
    const pub = [...store.publicRooms].sort(byName);
    replaceChildren(
      publicList,
      pub.map((r) =>
        h(
          "li",
          { class: "public-item" },
          isolated(r.name, { class: "room-name" }),
          h("span", { class: "muted small" }, `${r.member_count} ${r.member_count === 1 ? "member" : "members"}`),
          h(
            "button",
            {
              type: "button",
              class: "small",
              "aria-label": `Join ${withoutBidiControls(r.name)}`,
              onclick: async () => {
                try {
                  await client.join(r.id);
                  onSelect(r.id);
                } catch (err) {
                  onError(err);
                }
              },
            },
            "Join",
          ),
        ),
      ),
    );
    $("public-empty").hidden = pub.length > 0;
    setRoving(roving);
    const total = store.totalUnread();
    document.title = total ? `(${total}) hubbub` : "hubbub";
  }

  const roomItems = () => /** @type {HTMLElement[]} */ ([...document.querySelectorAll("#sidebar .room-item")]);

  /**
   * Make one room the list's Tab stop: `id` if listed, else the room on screen, else the first.
   * @param {string | null} id
   */
  function setRoving(id) {
    const items = roomItems();
    const pick =
      items.find((el) => el.dataset.roomId === id) ||
      items.find((el) => el.dataset.roomId === client.currentRoomId) ||
      items[0];
    roving = pick ? pick.dataset.roomId || null : null;
    for (const el of items) el.tabIndex = el === pick ? 0 : -1;
  }

  $("sidebar").addEventListener("focusin", (e) => {
    const el = /** @type {HTMLElement} */ (e.target);
    if (el.classList && el.classList.contains("room-item")) setRoving(el.dataset.roomId || null);
  });

  // Arrow keys move between rooms; Home and End go to the ends; Tab leaves the list.
  $("sidebar").addEventListener("keydown", (e) => {
    if (!["ArrowDown", "ArrowUp", "Home", "End"].includes(e.key)) return;
    const items = roomItems();
    const active = document.activeElement;
    const at = active ? items.indexOf(/** @type {HTMLElement} */ (active)) : -1;
    if (at < 0) return;
    e.preventDefault();
    const next =
      e.key === "Home"
        ? items[0]
        : e.key === "End"
          ? items[items.length - 1]
          : items[(at + (e.key === "ArrowDown" ? 1 : -1) + items.length) % items.length];
    setRoving(next.dataset.roomId || null);
    next.focus();
  });

  // New public rooms arrive on the stream (room.created, for everyone), and the list is
  // reloaded after a reconnect. Their member counts are not announced to non-members, so the
  // list is also refreshed when the page comes back into view, and on request.
  const refreshPublic = () => client.loadPublicRooms().catch(() => {});
  $("refresh-public").addEventListener("click", () => client.loadPublicRooms().catch(onError));
  document.addEventListener("visibilitychange", () => document.visibilityState === "visible" && refreshPublic());

  store.addEventListener("rooms", render);
  store.addEventListener("presence", render);
  return { render };
}
