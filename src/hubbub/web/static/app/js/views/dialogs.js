// Dialogs: create a room; message someone (with user search as you type).

import { ApiError } from "../api.js";
import { isolated } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";

const SEARCH_DELAY_MS = 150;

/** @typedef {import("../client.js").Client} Client */

/**
 * Buttons marked `data-close` close their dialog.
 * @param {HTMLDialogElement} dialog
 */
export function closeOnCancelButtons(dialog) {
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => dialog.close());
  }
}

/** @param {{client: Client, onCreated: (roomId: string) => void}} o */
export function mountRoomDialog({ client, onCreated }) {
  const dialog = $("room-dialog", HTMLDialogElement);
  const form = $("room-form", HTMLFormElement);
  const name = $("room-name", HTMLInputElement);
  const topic = $("room-topic-input", HTMLInputElement);
  const error = $("room-error");
  closeOnCancelButtons(dialog);

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    if (!name.value.trim()) {
      error.textContent = "Give the room a name.";
      name.focus();
      return;
    }
    const checked = /** @type {HTMLInputElement} */ (
      form.querySelector("input[name=visibility]:checked")
    );
    const visibility = /** @type {"public" | "private"} */ (checked.value);
    try {
      const room = await client.createRoom(name.value.trim(), topic.value.trim(), visibility);
      dialog.close();
      onCreated(room.id);
    } catch (err) {
      error.textContent = err instanceof ApiError ? err.message : "Cannot reach the server.";
    }
  });

  return {
    open() {
      form.reset();
      error.textContent = "";
      dialog.showModal();
      name.focus();
    },
  };
}

/** @param {{client: Client, onOpened: (roomId: string) => void}} o */
export function mountDmDialog({ client, onOpened }) {
  const dialog = $("dm-dialog", HTMLDialogElement);
  const form = $("dm-form", HTMLFormElement);
  const input = $("dm-input", HTMLInputElement);
  const list = $("dm-suggestions");
  const error = $("dm-error");
  /** @type {import("../store.js").User[]} the suggestions shown */
  let options = [];
  let active = -1;
  /** @type {number | undefined} */
  let timer;
  /** @type {AbortController | null} */
  let inflight = null;
  closeOnCancelButtons(dialog);

  /** @param {import("../store.js").User[]} users */
  function show(users) {
    const me = client.store.me?.username.toLowerCase();
    options = users.filter((u) => u.username.toLowerCase() !== me);
    active = -1;
    replaceChildren(
      list,
      options.map((u, i) =>
        h(
          "li",
          {
            role: "option",
            id: `dm-option-${i}`,
            "aria-selected": "false",
            onmousedown: (e) => e.preventDefault(), // keep focus in the input
            onclick: () => choose(i),
          },
          h("span", { class: `dot${client.store.isOnline(u.username) ? " online" : ""}`, "aria-hidden": "true" }),
          h("strong", {}, u.username),
          u.display_name !== u.username ? [" ", isolated(u.display_name, { class: "muted" })] : null,
        ),
      ),
    );
    const open = options.length > 0;
    list.hidden = !open;
    input.setAttribute("aria-expanded", String(open));
    input.removeAttribute("aria-activedescendant");
  }

  /** @param {number} i */
  function highlight(i) {
    active = i;
    [...list.children].forEach((li, j) => li.setAttribute("aria-selected", String(j === i)));
    if (i >= 0) input.setAttribute("aria-activedescendant", `dm-option-${i}`);
    else input.removeAttribute("aria-activedescendant");
  }

  /** @param {number} i */
  function choose(i) {
    input.value = options[i].username;
    show([]);
    submit();
  }

  async function search() {
    const prefix = input.value.trim();
    if (inflight) inflight.abort();
    if (!prefix) return show([]);
    inflight = new AbortController();
    try {
      show(await client.searchUsers(prefix, inflight.signal));
    } catch (err) {
      if (/** @type {Error} */ (err).name !== "AbortError") show([]);
    }
  }

  async function submit() {
    error.textContent = "";
    const username = input.value.trim();
    if (!username) {
      error.textContent = "Type a username.";
      return;
    }
    try {
      const room = await client.openDm(username);
      dialog.close();
      onOpened(room.id);
    } catch (err) {
      error.textContent =
        err instanceof ApiError
          ? err.code === "user_not_found"
            ? `Nobody is called “${username}”.`
            : err.code === "dm_with_self"
              ? "That is you. Pick someone else."
              : err.message
          : "Cannot reach the server.";
    }
  }

  input.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" && options.length) {
      e.preventDefault();
      highlight((active + 1) % options.length);
    } else if (e.key === "ArrowUp" && options.length) {
      e.preventDefault();
      highlight((active - 1 + options.length) % options.length);
    } else if (e.key === "Enter" && active >= 0) {
      e.preventDefault();
      choose(active);
    } else if (e.key === "Escape" && !list.hidden) {
      e.preventDefault();
      show([]);
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });

  return {
    open() {
      form.reset();
      error.textContent = "";
      show([]);
      dialog.showModal();
      input.focus();
    },
  };
}
