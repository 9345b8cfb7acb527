// The admin page's Invites tab: make invite links (how many sign-ups, for how long), copy them,
// see how much each was used, revoke those still working.

import { ApiError } from "../api.js";
import { $, h, replaceChildren } from "../dom.js";
import { formatWhen } from "../format.js";
import { copyText, linkPanel } from "./link-panel.js";

/** @typedef {import("../admin.js").Invite} Invite */

/** @param {unknown} err */
const reasonOf = (err) =>
  err instanceof ApiError ? err.message : "Cannot reach the server. Try again in a moment.";

/**
 * What state an invite is in.
 * @param {Invite} invite
 * @param {number} now  ms
 */
export function inviteStatus(invite, now) {
  if (invite.revoked) return "revoked";
  if (invite.uses >= invite.max_uses) return "used up";
  if (Date.parse(invite.expires_at) <= now) return "expired";
  return "active";
}

/** @param {{admin: import("../admin.js").Admin}} o */
export function mountAdminInvites({ admin }) {
  const state = admin.state;
  const form = $("invite-form", HTMLFormElement);
  const uses = $("invite-uses", HTMLInputElement);
  const expiry = $("invite-expiry", HTMLSelectElement);
  const error = $("invite-error");
  const rows = $("invite-rows");
  const status = $("invites-status");
  const linkSlot = $("invite-link");

  /** @param {Invite} invite */
  function inviteRow(invite) {
    const standing = inviteStatus(invite, Date.now());
    const code = invite.code;
    const short = `${code.slice(0, 8)}…`;
    return h(
      "tr",
      { dataset: { code } },
      h("td", {}, h("code", { title: invite.url }, short)),
      h("td", {}, `${invite.uses} of ${invite.max_uses}`),
      h("td", {}, formatWhen(invite.expires_at)),
      h("td", {}, h("span", { class: standing === "active" ? "tag admin-tag" : "tag" }, standing)),
      h(
        "td",
        { class: "actions-cell" },
        standing === "active"
          ? [
              h(
                "button",
                {
                  type: "button",
                  class: "small",
                  "aria-label": `Copy invite link ${short}`,
                  onclick: async () => {
                    status.textContent = (await copyText(invite.url))
                      ? "Invite link copied to the clipboard."
                      : `Copy it from here: ${invite.url}`;
                  },
                },
                "Copy link",
              ),
              h(
                "button",
                {
                  type: "button",
                  class: "small danger",
                  "aria-label": `Revoke invite ${short}`,
                  onclick: async () => {
                    try {
                      await admin.revokeInvite(code);
                      status.textContent = `Invite ${short} revoked: it no longer works.`;
                    } catch (err) {
                      status.textContent = reasonOf(err);
                    }
                  },
                },
                "Revoke",
              ),
            ]
          : null,
      ),
    );
  }

  function render() {
    const invites = state.invites;
    replaceChildren(rows, (invites || []).map(inviteRow));
    if (!invites) status.textContent = "Loading…";
    else if (!invites.length) status.textContent = "No invites yet.";
  }

  function renderLink() {
    const link = state.link;
    if (!link || link.kind !== "invite") {
      linkSlot.replaceChildren();
      return;
    }
    replaceChildren(
      linkSlot,
      linkPanel({
        title: "New invite link",
        url: link.url,
        note: `Whoever opens it can create an account, until ${formatWhen(link.expires_at)} or until its sign-ups are used.`,
      }),
    );
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = status.textContent = "";
    const n = Number(uses.value);
    if (!Number.isInteger(n) || n < 1 || n > 1000) {
      error.textContent = "An invite allows 1 to 1000 sign-ups.";
      uses.focus();
      return;
    }
    try {
      await admin.createInvite(n, Number(expiry.value));
      linkSlot.querySelector("button")?.focus(); // the link, ready to copy
    } catch (err) {
      error.textContent = reasonOf(err);
    }
  });

  state.addEventListener("invites", render);
  state.addEventListener("link", renderLink);

  return {
    show() {
      render();
      renderLink();
      admin.loadInvites().catch((err) => (status.textContent = reasonOf(err)));
    },
  };
}
