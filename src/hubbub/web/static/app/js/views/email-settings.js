// My address for missed-message email (#18), in Settings → Notifications: set it (a
// confirmation link is mailed to it; nothing else is mailed before it is confirmed), see
// whether it is confirmed, or remove it. Whether digests are sent is the notification
// preference `email` (notifications.js owns the preferences).

import { ApiError } from "../api.js";
import { h, replaceChildren } from "../dom.js";

/**
 * @typedef {{email: string | null, email_confirmed: boolean}} Address
 */

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {HTMLElement} o.into  where the fields go
 * @returns {{ refresh: () => Promise<void> }}
 */
export function mountEmailSettings({ client, into }) {
  /** @type {Address} */
  let address = { email: null, email_confirmed: false };
  let disabled = false;

  const input = h("input", { type: "email", id: "notify-email-address", autocomplete: "email", maxlength: "254", placeholder: "you@example.com" });
  const save = h("button", { type: "submit", id: "notify-email-save" }, "Save address");
  const remove = h("button", { type: "button", class: "ghost small", id: "notify-email-remove", onclick: () => send(null) }, "Remove");
  const status = h("p", { class: "muted small", id: "notify-email-status", role: "status" });
  const error = h("p", { class: "error", role: "alert", id: "notify-email-error" });
  const form = h("form", { class: "stack", id: "notify-email-form" }, h("label", { for: "notify-email-address" }, "Email address"), h("div", { class: "row" }, input, save, remove), status, error);
  into.append(form);

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const value = input.value.trim();
    send(value || null);
  });

  /** @param {string | null} email */
  async function send(email) {
    replaceChildren(error);
    save.disabled = true;
    try {
      address = await client.api.patch("/me", { email });
      render();
    } catch (err) {
      if (err instanceof ApiError && err.code === "email_disabled") {
        disabled = true;
        render();
      } else if (err instanceof ApiError) replaceChildren(error, err.message);
      else replaceChildren(error, String(err));
    } finally {
      save.disabled = false;
    }
  }

  function render() {
    input.disabled = save.disabled = disabled;
    remove.hidden = disabled || !address.email;
    if (document.activeElement !== input) input.value = address.email || "";
    replaceChildren(
      status,
      disabled
        ? "This server does not send email."
        : !address.email
          ? "No address: nothing is emailed to you."
          : address.email_confirmed
            ? `${address.email} is confirmed.`
            : `Not confirmed yet: open the link we mailed to ${address.email}.`,
    );
  }

  async function refresh() {
    try {
      const me = await client.api.get("/me");
      address = { email: me.email ?? null, email_confirmed: Boolean(me.email_confirmed) };
    } catch {
      // shown as it was; the next opening tries again
    }
    render();
  }
  render();
  return { refresh };
}
