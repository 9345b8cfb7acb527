// The members panel: who is in the room (with presence and mutes), add someone, leave (after a
// confirmation: leave.js).

import { ApiError } from "../api.js";
import { $, h, replaceChildren } from "../dom.js";
import { managesRoom } from "../roles.js";
import { authorName } from "./author.js";
import { avatarBadge } from "./avatar.js";

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./leave.js").Leave} o.leave
 * @param {(err: unknown) => void} o.onError
 */
export function mountMembers({ client, leave, onError }) {
  const panel = $("members");
  const toggle = $("show-members");
  const list = $("member-list");
  const addForm = $("add-member", HTMLFormElement);
  const addInput = $("add-member-input", HTMLInputElement);
  const leaveButton = $("leave-room");
  const store = client.store;
  /** @type {string | null} */
  let roomId = null;

  function render() {
    const room = roomId ? store.rooms.get(roomId) : undefined;
    const members = (roomId && store.members.get(roomId)) || [];
    replaceChildren(
      list,
      members.map((m) => {
        const online = store.isOnline(m.user.username);
        return h(
          "li",
          {},
          avatarBadge(m.user, m.user.avatar_url || null, m.user.display_name || m.user.username, "member-avatar"), // #15
          h("span", { class: `dot${online ? " online" : ""}`, role: "img", "aria-label": online ? "online" : "offline" }),
          // A list of who is who: every username shows, not only where names clash.
          authorName(m.user, { always: true, nameClass: "member-name" }),
          m.role !== "member" ? h("span", { class: "tag" }, m.role) : null,
          m.muted ? h("span", { class: "tag muted-tag" }, "muted") : null,
        );
      }),
    );
    addForm.hidden = !managesRoom(room, store.me);
    leaveButton.hidden = !room || room.kind === "dm" || room.id === "general";
  }

  async function load() {
    if (!roomId || panel.hidden) return;
    try {
      await client.members(roomId); // the store says "roster" when it has them
    } catch (err) {
      onError(err);
    }
  }

  /** @param {boolean} open */
  function setOpen(open) {
    panel.hidden = !open;
    $("chat").classList.toggle("members-open", open); // the backdrop, on small screens
    toggle.setAttribute("aria-expanded", String(open));
    if (open) load();
  }

  toggle.addEventListener("click", () => setOpen(panel.hidden));
  $("hide-members").addEventListener("click", () => {
    setOpen(false);
    toggle.focus();
  });
  // Escape closes the panel wherever focus is (unless a dialog or menu above it takes the key).
  document.addEventListener("keydown", (e) => {
    if (e.key !== "Escape" || e.defaultPrevented || panel.hidden) return;
    if (document.querySelector("dialog[open]")) return;
    const inside = panel.contains(document.activeElement);
    setOpen(false);
    if (inside || document.activeElement === document.body) toggle.focus();
  });
  addForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const username = addInput.value.trim();
    if (!username || !roomId) return;
    try {
      await client.addMember(roomId, username);
      addInput.value = "";
      load();
    } catch (err) {
      onError(err instanceof ApiError && err.code === "user_not_found" ? new Error(`Nobody is called “${username}”.`) : err);
    }
  });
  leaveButton.addEventListener("click", () => {
    if (roomId) leave.ask(roomId);
  });
  store.addEventListener("members", (e) => {
    if (/** @type {CustomEvent<{roomId: string}>} */ (e).detail.roomId === roomId) load();
  });
  store.addEventListener("roster", (e) => {
    if (/** @type {CustomEvent<{roomId: string}>} */ (e).detail.roomId === roomId) render();
  });
  store.addEventListener("presence", () => !panel.hidden && render());

  return {
    close() {
      setOpen(false);
    },
    /** @param {string | null} id */
    setRoom(id) {
      roomId = id;
      render(); // what was fetched before, until the fresh list arrives
      toggle.hidden = !id;
      if (!id) setOpen(false);
      else load();
    },
  };
}
