// The admin page (server admins only), in place of the room: three tabs, Users, Invites and
// Audit log, each loaded when shown. Its address is #/admin.

import { $ } from "../dom.js";
import { mountAdminAudit } from "./admin-audit.js";
import { mountAdminInvites } from "./admin-invites.js";
import { mountAdminUsers } from "./admin-users.js";

/** @typedef {"users" | "invites" | "audit"} Tab */

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./confirm.js").Confirm} o.confirm
 * @param {() => void} o.onClose  back to the chat
 */
export function mountAdminPage({ client, confirm, onClose }) {
  const admin = client.admin;
  const page = $("admin");
  /** @type {Record<Tab, {show: () => void}>} */
  const panels = {
    users: mountAdminUsers({ admin, store: client.store, confirm }),
    invites: mountAdminInvites({ admin }),
    audit: mountAdminAudit({ admin, store: client.store }),
  };
  /** @type {Tab[]} */
  const order = ["users", "invites", "audit"];
  /** @type {Tab} */
  let tab = "users";

  /** @param {Tab} next */
  function select(next) {
    tab = next;
    for (const name of order) {
      const on = name === tab;
      const button = $(`admin-tab-${name}`);
      button.setAttribute("aria-selected", String(on));
      button.tabIndex = on ? 0 : -1;
      $(`admin-${name}`).hidden = !on;
    }
    panels[tab].show();
  }

  for (const name of order) {
    const button = $(`admin-tab-${name}`);
    button.addEventListener("click", () => select(name));
    // Arrow keys move between the tabs (the tabs pattern); Tab goes into the panel.
    button.addEventListener("keydown", (e) => {
      const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
      if (!step) return;
      e.preventDefault();
      const next = order[(order.indexOf(tab) + step + order.length) % order.length];
      select(next);
      $(`admin-tab-${next}`).focus();
    });
  }
  $("admin-close").addEventListener("click", onClose);

  return {
    get shown() {
      return !page.hidden;
    },
    show() {
      page.hidden = false;
      select(tab);
      $("admin-title").focus();
    },
    hide() {
      page.hidden = true;
    },
  };
}
