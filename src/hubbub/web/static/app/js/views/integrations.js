// Room settings → Integrations (#19), for the room's owner and admins: its incoming webhooks
// (name, the bot that posts for it, when made), make one (its URL is shown once, with Copy),
// revoke one (after asking: its URL stops working at once).
//
// The list is this dialog's own (fetched when it opens, changed by what it does here); nothing
// else on the page shows webhooks.

import { ApiError, seg } from "../api.js";
import { isolated, withoutBidiControls } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { formatWhen } from "../format.js";
import { linkPanel } from "./link-panel.js";

/**
 * A webhook as GET/POST /rooms/{id}/webhooks give it (`url` only in the answer to POST).
 * @typedef {object} Webhook
 * @property {string} id
 * @property {string} room_id
 * @property {string} name
 * @property {import("../shapes.js").User} bot
 * @property {string} created_at
 * @property {string | null} [url]
 */

/** @param {unknown} err */
function reasonOf(err) {
  if (!(err instanceof ApiError)) return "Cannot reach the server. Try again in a moment.";
  if (err.code === "not_allowed") return "Only the room's owner and admins manage its integrations.";
  return err.message;
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./confirm.js").Confirm} o.confirm
 */
export function mountIntegrations({ client, confirm }) {
  const list = $("webhook-list");
  const form = $("webhook-form", HTMLFormElement);
  const nameInput = $("webhook-name", HTMLInputElement);
  const linkSlot = $("webhook-link");
  const error = $("webhook-error");
  const status = $("webhook-status");
  /** @type {string | null} */
  let roomId = null;
  /** @type {Webhook[] | null} null while loading */
  let hooks = null;

  /** @param {Webhook} w */
  function hookRow(w) {
    return h(
      "li",
      { dataset: { webhookId: w.id } },
      h(
        "span",
        { class: "who" },
        isolated(w.name, { class: "member-name" }),
        h("span", { class: "tag bot-tag" }, "BOT"),
        h("span", { class: "detail" }, "Posts as @", w.bot.username, ` · made ${formatWhen(w.created_at)}`),
      ),
      h(
        "button",
        { type: "button", class: "small danger", "aria-label": `Revoke webhook ${withoutBidiControls(w.name)}`, onclick: () => revoke(w) },
        "Revoke",
      ),
    );
  }

  function render() {
    replaceChildren(
      list,
      !hooks
        ? h("li", { class: "empty" }, "Loading…")
        : hooks.length
          ? hooks.map(hookRow)
          : h("li", { class: "empty" }, "No webhooks yet."),
    );
  }

  /** @param {Webhook} w */
  async function revoke(w) {
    const id = roomId;
    if (!id) return;
    const answer = await confirm.ask({
      title: `Revoke the webhook “${withoutBidiControls(w.name)}”?`,
      text: "Its URL stops working at once: whatever posts to it gets an error. Its bot leaves the room; the messages it sent stay.",
      warning: "This cannot be undone. To post again, make a new webhook and give the tool its new URL.",
      confirm: "Revoke",
    });
    if (!answer) return;
    error.textContent = status.textContent = "";
    try {
      await client.api.del(`/rooms/${seg(id)}/webhooks/${seg(w.id)}`);
      if (roomId !== id) return;
      hooks = (hooks || []).filter((x) => x.id !== w.id);
      linkSlot.replaceChildren(); // a URL shown for it is no use now
      render();
      status.textContent = `Webhook “${withoutBidiControls(w.name)}” revoked.`;
      nameInput.focus();
    } catch (err) {
      error.textContent = reasonOf(err);
    }
  }

  async function load() {
    const id = roomId;
    if (!id) return;
    try {
      const data = await client.api.get(`/rooms/${seg(id)}/webhooks`);
      if (roomId !== id) return;
      hooks = data.webhooks;
      render();
    } catch (err) {
      if (roomId === id) error.textContent = reasonOf(err);
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const id = roomId;
    if (!id) return;
    error.textContent = status.textContent = "";
    const name = nameInput.value.trim();
    if (!name) {
      error.textContent = "Name the webhook (what posts through it: “Deploys”, “Alerts”).";
      nameInput.focus();
      return;
    }
    try {
      /** @type {Webhook} */
      const made = await client.api.post(`/rooms/${seg(id)}/webhooks`, { name });
      if (roomId !== id) return;
      nameInput.value = "";
      hooks = [...(hooks || []), { ...made, url: null }];
      render();
      replaceChildren(
        linkSlot,
        linkPanel({
          title: `URL of the webhook “${withoutBidiControls(made.name)}”`,
          url: made.url || "",
          note: "Shown only now: copy it into the tool that posts here (it takes Slack's incoming-webhook payloads). Keep it secret: whoever has it can post in this room. Lost it? Revoke the webhook and make another.",
          secret: true,
        }),
      );
      linkSlot.querySelector("button")?.focus();
    } catch (err) {
      error.textContent = reasonOf(err);
    }
  });

  return {
    /**
     * The dialog opens on a room: its webhooks, fetched afresh; no URL from before.
     * @param {string | null} id
     */
    open(id) {
      roomId = id;
      hooks = null;
      nameInput.value = "";
      error.textContent = status.textContent = "";
      linkSlot.replaceChildren();
      render();
      load();
    },
    /** The dialog closed: forget the URL shown (it is shown once). */
    close() {
      roomId = null;
      hooks = null;
      linkSlot.replaceChildren();
    },
  };
}
