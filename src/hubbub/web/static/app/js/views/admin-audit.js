// The admin page's Audit log tab: who did what to whom, and why, newest first; older entries a
// page at a time.

import { ApiError } from "../api.js";
import { isolated } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { formatWhen } from "../format.js";

/** @type {Record<string, string>} */
const ACTIONS = {
  "admin.promote": "made server admin",
  "admin.demote": "removed as server admin",
  "user.create": "created the account",
  "user.deactivate": "deactivated the account",
  "user.reactivate": "reactivated the account",
  "user.password_reset": "made a password reset link",
  "user.delete": "deleted the account",
  "user.delete_erasing": "deleted the account and its messages",
  "invite.create": "created an invite",
  "invite.revoke": "revoked an invite",
  "message.delete": "deleted a message",
  "room.ban": "banned from a room",
  "room.unban": "unbanned in a room",
  "room.mute": "muted in a room",
  "room.unmute": "unmuted in a room",
  "room.remove_member": "removed from a room",
  "room.role": "changed a room role",
  "room.retention": "set how long a room keeps messages",
};

/**
 * @param {object} o
 * @param {import("../admin.js").Admin} o.admin
 * @param {import("../store.js").Store} o.store  for the names of rooms the targets name by id
 */
export function mountAdminAudit({ admin, store }) {
  const state = admin.state;
  const rows = $("audit-rows");
  const status = $("audit-status");
  const older = $("audit-older", HTMLButtonElement);

  /**
   * A target as people read it: "room id/username" names the room when this page knows it.
   * @param {string} target
   */
  function targetText(target) {
    const slash = target.indexOf("/");
    if (slash < 0) return target;
    const roomId = target.slice(0, slash);
    const room = store.rooms.get(roomId) || store.publicRooms.find((r) => r.id === roomId);
    return room ? `#${room.name} · ${target.slice(slash + 1)}` : target;
  }

  /** @param {import("../admin.js").AuditEntry} e */
  function entryRow(e) {
    return h(
      "tr",
      {},
      h("td", {}, h("time", { datetime: e.at }, formatWhen(e.at))),
      h("td", {}, e.actor ? `@${e.actor}` : h("span", { class: "muted" }, "command line")),
      h("td", { title: e.action }, ACTIONS[e.action] || e.action),
      h("td", { title: e.target }, isolated(targetText(e.target))),
      h("td", {}, e.reason ? isolated(e.reason) : null),
    );
  }

  function render() {
    replaceChildren(rows, state.audit.map(entryRow));
    older.hidden = !state.auditNext;
    status.textContent = state.audit.length ? "" : "Nothing has happened yet.";
  }

  /** @param {boolean} more */
  function load(more) {
    admin.loadAudit(more).catch((err) => {
      status.textContent = err instanceof ApiError ? err.message : "Cannot reach the server.";
    });
  }

  older.addEventListener("click", () => load(true));
  $("audit-refresh").addEventListener("click", () => load(false));
  state.addEventListener("audit", render);

  return {
    show() {
      render();
      load(false);
    },
  };
}
