// Room settings, for those who manage a room (its owner and admins; server admins in public
// rooms): name and topic; each member's role, mute, removal and ban; the bans, to lift; and
// leaving. Only what the server would allow is offered (roles.js); removing and banning ask
// first. The lists are the store's, kept current by live events.

import { ApiError } from "../api.js";
import { isolated, withoutBidiControls } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { formatWhen } from "../format.js";
import { allowedOn, managesRoom } from "../roles.js";
import { authorName } from "./author.js";
import { closeOnCancelButtons } from "./dialogs.js";
import { mountIntegrations } from "./integrations.js";
import { mountOutgoingHooks } from "./outgoing-hooks.js";
import { mountRoomAvatarSettings } from "./room-avatar-settings.js";

/**
 * @typedef {import("../store.js").Member} Member
 * @typedef {import("../store.js").Ban} Ban
 * @typedef {import("../store.js").Room} Room
 */

/**
 * @param {unknown} err
 */
function reasonOf(err) {
  return err instanceof ApiError ? err.message : "Cannot reach the server. Try again in a moment.";
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./confirm.js").Confirm} o.confirm
 * @param {import("./leave.js").Leave} o.leave
 */
export function mountRoomSettings({ client, confirm, leave }) {
  const store = client.store;
  const moderation = client.moderation;
  const dialog = $("room-settings", HTMLDialogElement);
  const detailsForm = $("room-details-form", HTMLFormElement);
  const nameInput = $("room-settings-name", HTMLInputElement);
  const topicInput = $("room-settings-topic", HTMLInputElement);
  const detailsError = $("room-details-error");
  const detailsStatus = $("room-details-status");
  const memberList = $("room-settings-members");
  const membersError = $("room-members-error");
  const banList = $("room-settings-bans");
  const bansStatus = $("room-bans-status");
  /** @type {string | null} the room whose settings are open */
  let roomId = null;
  closeOnCancelButtons(dialog);
  const integrations = mountIntegrations({ client, confirm }); // #19: webhooks
  const outgoing = mountOutgoingHooks({ client }); // #19: outgoing webhooks
  const roomAvatar = mountRoomAvatarSettings({ client }); // #19 web client: the room's picture

  const room = () => (roomId ? store.rooms.get(roomId) : undefined);

  /**
   * Run a moderation request; say what went wrong in the dialog.
   * @param {() => Promise<void>} fn
   */
  async function act(fn) {
    membersError.textContent = "";
    try {
      await fn();
    } catch (err) {
      membersError.textContent = reasonOf(err);
    }
  }

  // -- rows ------------------------------------------------------------------------------------

  /**
   * @param {Room} r
   * @param {Member} m
   */
  function roleControl(r, m, changeRole = false) {
    const who = `@${m.user.username}`;
    if (!changeRole) {
      return m.role === "member" ? null : h("span", { class: "tag" }, m.role);
    }
    const select = h(
      "select",
      {
        "aria-label": `Role of ${who}`,
        dataset: { fk: `role:${m.user.username}` },
        onchange: () => {
          const role = /** @type {"admin" | "member"} */ (select.value);
          act(() => moderation.updateMember(r.id, m.user.username, { role }));
        },
      },
      h("option", { value: "member", selected: m.role === "member" }, "member"),
      h("option", { value: "admin", selected: m.role === "admin" }, "admin"),
    );
    return select;
  }

  /**
   * @param {Room} r
   * @param {Member} m
   */
  function memberRow(r, m) {
    const who = `@${m.user.username}`;
    const may = allowedOn(r, store.me, m);
    const self = m.user.id === store.me?.id;
    return h(
      "li",
      { dataset: { username: m.user.username } },
      h(
        "span",
        { class: "who" },
        authorName(m.user, { always: true, nameClass: "member-name" }),
        self ? h("span", { class: "tag" }, "you") : null,
        m.muted ? h("span", { class: "tag muted-tag" }, "muted") : null,
      ),
      h(
        "span",
        { class: "actions-row" },
        roleControl(r, m, may.changeRole),
        may.moderate
          ? h(
              "button",
              {
                type: "button",
                class: "small",
                "aria-label": `${m.muted ? "Unmute" : "Mute"} ${who}`,
                dataset: { fk: `mute:${m.user.username}` },
                onclick: () => act(() => moderation.updateMember(r.id, m.user.username, { muted: !m.muted })),
              },
              m.muted ? "Unmute" : "Mute",
            )
          : null,
        may.moderate
          ? [
              h("button", { type: "button", class: "small", "aria-label": `Remove ${who}`, onclick: () => remove(r, m) }, "Remove"),
              h("button", { type: "button", class: "small danger", "aria-label": `Ban ${who}`, onclick: () => ban(r, m) }, "Ban"),
            ]
          : null,
      ),
    );
  }

  /**
   * @param {Room} r
   * @param {Ban} b
   */
  function banRow(r, b) {
    const who = `@${b.user.username}`;
    return h(
      "li",
      { dataset: { username: b.user.username } },
      h(
        "span",
        { class: "who" },
        authorName(b.user, { always: true, nameClass: "member-name" }),
        h(
          "span",
          { class: "detail" },
          `Banned ${formatWhen(b.banned_at)}`,
          b.reason ? [": ", isolated(b.reason)] : null,
        ),
      ),
      h(
        "button",
        {
          type: "button",
          class: "small",
          "aria-label": `Unban ${who}`,
          onclick: async () => {
            bansStatus.textContent = "";
            try {
              await moderation.unban(r.id, b.user.username);
              bansStatus.textContent = `${who} may join again.`;
            } catch (err) {
              bansStatus.textContent = reasonOf(err);
            }
          },
        },
        "Unban",
      ),
    );
  }

  // -- actions that ask first -----------------------------------------------------------------

  /**
   * @param {Room} r
   * @param {Member} m
   */
  async function remove(r, m) {
    const name = `#${withoutBidiControls(r.name)}`;
    const answer = await confirm.ask({
      title: `Remove @${m.user.username} from ${name}?`,
      text:
        r.visibility === "private"
          ? "They stop receiving the room's messages at once, and can come back only if someone adds them."
          : "They stop receiving the room's messages at once. It is a public room: they can join again (ban them to stop that).",
      confirm: "Remove",
    });
    if (answer) await act(() => moderation.remove(r.id, m.user.username));
  }

  /**
   * @param {Room} r
   * @param {Member} m
   */
  async function ban(r, m) {
    const name = `#${withoutBidiControls(r.name)}`;
    const answer = await confirm.ask({
      title: `Ban @${m.user.username} from ${name}?`,
      text: "They leave the room at once and cannot join it or be added again until they are unbanned.",
      warning: r.visibility === "private" ? "The room disappears from their list." : "",
      confirm: "Ban",
      reason: true,
    });
    if (answer) await act(() => moderation.ban(r.id, m.user.username, answer.reason));
  }

  // -- the lists ------------------------------------------------------------------------------

  function render() {
    const r = room();
    if (!r) return;
    replaceChildren($("room-settings-title"), "Room settings: ", isolated(`#${r.name}`));
    const members = store.members.get(r.id);
    replaceChildren(
      memberList,
      members ? members.map((m) => memberRow(r, m)) : h("li", { class: "empty" }, "Loading…"),
    );
    const bans = store.bans.get(r.id);
    replaceChildren(
      banList,
      !bans
        ? h("li", { class: "empty" }, "Loading…")
        : bans.length
          ? bans.map((b) => banRow(r, b))
          : h("li", { class: "empty" }, "Nobody is banned."),
    );
  }

  /** The lists are rebuilt (a role changed, a mute): keep focus on the same control. */
  function renderKeepingFocus() {
    const fk = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.fk;
    render();
    if (!fk) return;
    const again = /** @type {HTMLElement | null} */ (dialog.querySelector(`[data-fk="${CSS.escape(fk)}"]`));
    if (again) again.focus();
  }

  async function load() {
    const id = roomId;
    if (!id) return;
    try {
      await Promise.all([client.members(id), moderation.loadBans(id)]);
    } catch (err) {
      if (roomId === id) membersError.textContent = reasonOf(err);
    }
  }

  detailsForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    const r = room();
    if (!r) return;
    detailsError.textContent = detailsStatus.textContent = "";
    const name = nameInput.value.trim();
    const topic = topicInput.value.trim();
    if (!name) {
      detailsError.textContent = "Give the room a name.";
      nameInput.focus();
      return;
    }
    /** @type {{name?: string, topic?: string}} */
    const changes = {};
    if (name !== r.name) changes.name = name;
    if (topic !== (r.topic || "")) changes.topic = topic;
    if (!Object.keys(changes).length) {
      detailsStatus.textContent = "Nothing changed.";
      return;
    }
    try {
      await moderation.updateRoom(r.id, changes);
      detailsStatus.textContent = "Saved.";
    } catch (err) {
      detailsError.textContent = reasonOf(err);
    }
  });

  const leaveButton = $("room-settings-leave");
  leaveButton.addEventListener("click", async () => {
    if (roomId && (await leave.ask(roomId))) dialog.close();
  });

  /** @param {Event} e */
  const forThisRoom = (e) => dialog.open && /** @type {CustomEvent<{roomId: string}>} */ (e).detail?.roomId === roomId;
  store.addEventListener("roster", (e) => forThisRoom(e) && renderKeepingFocus());
  store.addEventListener("bans", (e) => forThisRoom(e) && renderKeepingFocus());
  store.addEventListener("members", (e) => forThisRoom(e) && load());
  store.addEventListener("rooms", () => {
    if (!dialog.open) return;
    const r = room();
    // Gone (I left or was removed), or no longer mine to manage (demoted): close.
    if (!r || !managesRoom(r, store.me)) dialog.close();
    else renderKeepingFocus();
  });
  dialog.addEventListener("close", () => {
    roomId = null;
    integrations.close(); // #19
    outgoing.close();
  });

  return {
    /** @param {string} id */
    open(id) {
      const r = store.rooms.get(id);
      if (!r || !managesRoom(r, store.me)) return;
      roomId = id;
      nameInput.value = r.name;
      topicInput.value = r.topic || "";
      for (const el of [detailsError, detailsStatus, membersError, bansStatus]) el.textContent = "";
      // Not the lobby's (as in the members panel).
      /** @type {HTMLElement} */ (leaveButton.parentElement).hidden = r.id === "general";
      roomAvatar.reset(id); // #19 web client
      integrations.open(id); // #19
      outgoing.open(id);
      render();
      dialog.showModal();
      nameInput.focus();
      load();
    },
  };
}
