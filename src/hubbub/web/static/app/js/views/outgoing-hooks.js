// Room settings → Integrations → Outgoing webhooks (#19), for the room's owner and admins: the
// room's outgoing webhooks (made with the API: docs/integrations.md), whether each is on or was
// turned off (after failures, or by someone: when and why), a button to turn it off or back on
// (PATCH …/outgoing-webhooks/{id} {"enabled"}), and, on asking, its latest delivery attempts
// (status, outcome, latency, error). The list is this dialog's own, fetched when it opens and
// updated from each PATCH's answer.

import { ApiError, seg } from "../api.js";
import { isolated } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { formatWhen } from "../format.js";

/**
 * An outgoing webhook as GET /rooms/{id}/outgoing-webhooks gives it.
 * @typedef {object} OutgoingHook
 * @property {string} id
 * @property {string} url
 * @property {string[]} events
 * @property {string[]} trigger_words
 * @property {number} failures
 * @property {boolean} enabled
 * @property {string | null} disabled_at
 * @property {string | null} disabled_reason
 */

/**
 * One delivery attempt as GET …/deliveries gives it.
 * @typedef {object} Delivery
 * @property {string} id
 * @property {string} event_id
 * @property {number} attempt
 * @property {string} at
 * @property {number | null} status
 * @property {number | null} latency_ms
 * @property {string | null} error
 * @property {string} outcome
 */

/** @param {unknown} err */
function reasonOf(err) {
  if (!(err instanceof ApiError)) return "Cannot reach the server. Try again in a moment.";
  if (err.code === "not_allowed") return "Only the room's owner and admins see its outgoing webhooks.";
  return err.message;
}

/** @param {Delivery} d */
function deliveryRow(d) {
  const answer = d.status === null ? "no answer" : `HTTP ${d.status}`;
  const took = d.latency_ms === null ? "" : ` in ${d.latency_ms} ms`;
  return h(
    "li",
    { class: `delivery delivery-${d.outcome}`, dataset: { outcome: d.outcome } },
    h("span", { class: "delivery-outcome" }, d.outcome),
    h("span", { class: "detail" }, ` ${answer}${took} · try ${d.attempt} · ${formatWhen(d.at)}`),
    d.error ? h("span", { class: "detail delivery-error" }, ` · ${d.error}`) : null,
  );
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 */
export function mountOutgoingHooks({ client }) {
  const list = $("outgoing-list");
  const error = $("outgoing-error");
  /** @type {string | null} */
  let roomId = null;
  /** @type {OutgoingHook[] | null} null while loading */
  let hooks = null;

  /** @param {OutgoingHook} hook @param {HTMLElement} slot @param {HTMLButtonElement} button */
  async function showDeliveries(hook, slot, button) {
    const id = roomId;
    if (!id) return;
    if (slot.childElementCount) {
      slot.replaceChildren();
      button.setAttribute("aria-expanded", "false");
      return;
    }
    try {
      const data = await client.api.get(`/rooms/${seg(id)}/outgoing-webhooks/${seg(hook.id)}/deliveries?limit=20`);
      if (roomId !== id) return;
      /** @type {Delivery[]} */
      const found = data.deliveries;
      replaceChildren(
        slot,
        h(
          "ul",
          { class: "deliveries", "aria-label": "Latest deliveries" },
          found.length ? found.map(deliveryRow) : h("li", { class: "empty" }, "Nothing sent yet."),
        ),
      );
      button.setAttribute("aria-expanded", "true");
    } catch (err) {
      if (roomId === id) error.textContent = reasonOf(err);
    }
  }

  /** @param {OutgoingHook} hook @param {HTMLButtonElement} button */
  async function setEnabled(hook, button) {
    const id = roomId;
    if (!id) return;
    button.disabled = true;
    error.textContent = "";
    try {
      /** @type {OutgoingHook} */
      const changed = await client.api.patch(`/rooms/${seg(id)}/outgoing-webhooks/${seg(hook.id)}`, {
        enabled: !hook.enabled,
      });
      if (roomId !== id || !hooks) return;
      hooks = hooks.map((one) => (one.id === changed.id ? changed : one));
      render();
    } catch (err) {
      button.disabled = false;
      if (roomId === id) error.textContent = reasonOf(err);
    }
  }

  /** @param {OutgoingHook} hook */
  function hookRow(hook) {
    const slot = h("div", { class: "deliveries-slot" });
    const button = /** @type {HTMLButtonElement} */ (
      h("button", { type: "button", class: "small", "aria-expanded": "false" }, "Deliveries")
    );
    button.addEventListener("click", () => showDeliveries(hook, slot, button));
    const toggle = /** @type {HTMLButtonElement} */ (
      h("button", { type: "button", class: "small hook-toggle" }, hook.enabled ? "Disable" : "Enable")
    );
    toggle.addEventListener("click", () => setEnabled(hook, toggle));
    const state = hook.enabled ? h("span", { class: "tag" }, "ON") : h("span", { class: "tag danger-tag" }, "OFF");
    return h(
      "li",
      { dataset: { hookId: hook.id } },
      h(
        "span",
        { class: "who" },
        isolated(hook.url, { class: "member-name hook-url" }),
        state,
        h(
          "span",
          { class: "detail" },
          hook.events.join(", "),
          hook.trigger_words.length ? ` · starting with ${hook.trigger_words.join(" ")}` : "",
          hook.disabled_at ? ` · turned off ${formatWhen(hook.disabled_at)}: ${hook.disabled_reason || ""}` : "",
        ),
      ),
      h("span", { class: "actions-row" }, toggle, button),
      slot,
    );
  }

  function render() {
    replaceChildren(
      list,
      !hooks
        ? h("li", { class: "empty" }, "Loading…")
        : hooks.length
          ? hooks.map(hookRow)
          : h("li", { class: "empty" }, "No outgoing webhooks."),
    );
  }

  async function load() {
    const id = roomId;
    if (!id) return;
    try {
      const data = await client.api.get(`/rooms/${seg(id)}/outgoing-webhooks`);
      if (roomId !== id) return;
      hooks = data.hooks;
      render();
    } catch (err) {
      if (roomId === id) error.textContent = reasonOf(err);
    }
  }

  return {
    /** @param {string | null} id */
    open(id) {
      roomId = id;
      hooks = null;
      error.textContent = "";
      render();
      load();
    },
    close() {
      roomId = null;
      hooks = null;
    },
  };
}
