// Account settings → Bots (#19): my bot accounts, each with an API key for a script. Make one
// (its key is shown once, with Copy), make it a new key (after asking: the old one stops at
// once; the new one is shown once), delete one (after asking).
//
// The list is this section's own (fetched when the dialog opens, changed by what it does here).

import { ApiError, seg } from "../api.js";
import { isolated } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { formatWhen } from "../format.js";
import { linkPanel } from "./link-panel.js";

/**
 * @typedef {import("../shapes.js").User} User
 * @typedef {{bot: User, owner_id: string}} Bot
 */

/** @param {unknown} err */
function reasonOf(err) {
  if (!(err instanceof ApiError)) return "Cannot reach the server. Try again in a moment.";
  if (err.code === "username_taken") return "That username is taken: choose another.";
  if (err.code === "too_many_bots") return "You have as many bots as you may: delete one first.";
  if (err.code === "rate_limited") return "Too many tries. Wait a minute, then try again.";
  return err.message;
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./confirm.js").Confirm} o.confirm
 */
export function mountBotsSettings({ client, confirm }) {
  const list = $("bot-list");
  const form = $("bot-form", HTMLFormElement);
  const username = $("bot-username", HTMLInputElement);
  const display = $("bot-display", HTMLInputElement);
  const keySlot = $("bot-key");
  const error = $("bot-error");
  const status = $("bot-status");
  /** @type {Bot[] | null} null while loading */
  let bots = null;

  /**
   * Show a key, once.
   * @param {Bot & {token: string}} made
   * @param {string} what  "API key of @x" / "New API key of @x"
   */
  function showKey(made, what) {
    replaceChildren(
      keySlot,
      linkPanel({
        title: what,
        url: made.token,
        copyLabel: "Copy key",
        secret: true,
        note: `Shown only now: copy it into your script, which sends it as “Authorization: Bearer <key>”. Keep it like a password. Lost it? Make a new key. Add @${made.bot.username} to a room (its Members) before it posts there.`,
      }),
    );
    keySlot.querySelector("button")?.focus();
  }

  /** @param {Bot} b */
  function botRow(b) {
    const who = `@${b.bot.username}`;
    return h(
      "li",
      { dataset: { username: b.bot.username } },
      h(
        "span",
        { class: "who" },
        isolated(b.bot.display_name || b.bot.username, { class: "member-name" }),
        " ",
        h("span", { class: "username" }, who),
        h("span", { class: "tag bot-tag" }, "BOT"),
        b.bot.created_at ? h("span", { class: "detail" }, `Made ${formatWhen(b.bot.created_at)}`) : null,
      ),
      h(
        "span",
        { class: "actions-row" },
        h("button", { type: "button", class: "small", "aria-label": `New key for ${who}`, onclick: () => rotate(b) }, "New key"),
        h("button", { type: "button", class: "small danger", "aria-label": `Delete ${who}`, onclick: () => remove(b) }, "Delete"),
      ),
    );
  }

  function render() {
    replaceChildren(
      list,
      !bots
        ? h("li", { class: "empty" }, "Loading…")
        : bots.length
          ? bots.map(botRow)
          : h("li", { class: "empty" }, "No bots yet."),
    );
  }

  /** @param {Bot} b */
  async function rotate(b) {
    const who = `@${b.bot.username}`;
    const answer = await confirm.ask({
      title: `Make a new key for ${who}?`,
      text: "The new key is shown once. Whatever uses the old key stops working at once (its connections close).",
      confirm: "Make a new key",
    });
    if (!answer) return;
    error.textContent = status.textContent = "";
    try {
      const made = await client.api.post(`/bots/${seg(b.bot.username)}/tokens`);
      showKey(made, `New API key of ${who}`);
    } catch (err) {
      error.textContent = reasonOf(err);
    }
  }

  /** @param {Bot} b */
  async function remove(b) {
    const who = `@${b.bot.username}`;
    const answer = await confirm.ask({
      title: `Delete ${who}?`,
      text: "Its key stops working and it leaves every room. The messages it sent stay.",
      warning: "This cannot be undone: its username is not given to anyone again.",
      confirm: "Delete",
    });
    if (!answer) return;
    error.textContent = status.textContent = "";
    try {
      await client.api.del(`/bots/${seg(b.bot.username)}`);
      bots = (bots || []).filter((x) => x.bot.id !== b.bot.id);
      keySlot.replaceChildren();
      render();
      status.textContent = `${who} deleted.`;
      username.focus();
    } catch (err) {
      error.textContent = reasonOf(err);
    }
  }

  async function load() {
    try {
      const data = await client.api.get("/bots");
      bots = data.bots;
      render();
    } catch (err) {
      error.textContent = reasonOf(err);
    }
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = status.textContent = "";
    const name = username.value.trim();
    if (!name) {
      error.textContent = "Choose the bot's username.";
      username.focus();
      return;
    }
    /** @type {{username: string, display_name?: string}} */
    const body = { username: name };
    const shown = display.value.trim();
    if (shown) body.display_name = shown;
    try {
      const made = await client.api.post("/bots", body);
      username.value = display.value = "";
      bots = [...(bots || []).filter((x) => x.bot.id !== made.bot.id), { bot: made.bot, owner_id: made.owner_id }].sort((a, b) =>
        a.bot.username.localeCompare(b.bot.username),
      );
      render();
      showKey(made, `API key of @${made.bot.username}`);
    } catch (err) {
      error.textContent = reasonOf(err);
      username.focus();
    }
  });

  return {
    /** The dialog opens: the bots, fetched afresh; no key from before. */
    reset() {
      bots = null;
      error.textContent = status.textContent = "";
      keySlot.replaceChildren();
      render();
      load();
    },
    /** The dialog closed: forget the key shown (it is shown once). */
    close() {
      keySlot.replaceChildren();
    },
  };
}
