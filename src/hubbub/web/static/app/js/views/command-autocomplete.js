// Slash-command autocomplete in a composer (#19): typing "/" at the very start of a message
// suggests the server's slash commands (GET /commands, fetched once a minute at most) whose
// names start with what follows. Up/Down choose, Enter or Tab insert "/name ", Escape closes.

import { visibleText } from "../bidi.js";
import { h, replaceChildren } from "../dom.js";
import { suggestionKeys } from "./suggestion-keys.js";

const MAX = 8;
const FRESH_MS = 60_000;
const TOKEN = /^\/([a-z0-9_-]{0,32})$/;

/** @typedef {{name: string, description: string}} Command */

/**
 * The "/name" being typed, when it is the whole text before the caret: the name so far.
 * @param {string} text
 * @param {number} caret
 * @returns {string | null}
 */
export function commandQuery(text, caret) {
  const m = TOKEN.exec(text.slice(0, caret));
  return m ? m[1] : null;
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {HTMLTextAreaElement} o.input
 * @param {string} o.id  the listbox's id
 */
export function attachCommandAutocomplete({ client, input, id }) {
  const list = h("ul", { id, class: "suggestions command-suggestions", role: "listbox", "aria-label": "Slash commands", hidden: true });
  input.insertAdjacentElement("afterend", list);
  // aria-controls takes a list: the composer's other suggestions (mentions) stay in it.
  input.setAttribute("aria-controls", `${input.getAttribute("aria-controls") || ""} ${id}`.trim());
  input.setAttribute("aria-autocomplete", "list");
  /** @type {Command[]} */
  let items = [];
  let active = 0;
  /** @type {Command[] | null} */
  let commands = null;
  let fetchedAt = 0;
  /** @type {Promise<void> | null} */
  let fetching = null;

  function close() {
    const wasOpen = !list.hidden;
    list.hidden = true;
    items = [];
    if (wasOpen) {
      input.removeAttribute("aria-activedescendant");
      input.setAttribute("aria-expanded", "false");
    }
  }

  function show() {
    if (!items.length) return close();
    active = Math.min(active, items.length - 1);
    replaceChildren(
      list,
      items.map((c, i) =>
        h(
          "li",
          {
            id: `${id}-${i}`,
            role: "option",
            "aria-selected": String(i === active),
            onmousedown: (/** @type {MouseEvent} */ e) => {
              e.preventDefault(); // keep focus in the composer
              choose(i);
            },
          },
          h("strong", {}, `/${c.name}`),
          h("span", { class: "muted small" }, " ", visibleText(c.description)),
        ),
      ),
    );
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-activedescendant", `${id}-${active}`);
  }

  /** @param {number} i */
  function choose(i) {
    const c = items[i];
    if (!c) return;
    const caret = input.selectionStart ?? input.value.length;
    const insert = `/${c.name} `;
    input.value = insert + input.value.slice(caret).replace(/^ /, "");
    input.setSelectionRange(insert.length, insert.length);
    close();
    input.dispatchEvent(new Event("input", { bubbles: true }));
    close();
  }

  function load() {
    if (fetching || (commands && Date.now() - fetchedAt < FRESH_MS)) return fetching;
    fetching = client.api
      .get("/commands")
      .then((data) => {
        commands = data.commands;
        fetchedAt = Date.now();
      })
      .catch(() => {})
      .finally(() => {
        fetching = null;
      });
    return fetching;
  }

  function update() {
    const query = commandQuery(input.value, input.selectionStart ?? input.value.length);
    if (query === null) return close();
    const match = () => {
      if (commandQuery(input.value, input.selectionStart ?? input.value.length) !== query) return;
      items = (commands || []).filter((c) => c.name.startsWith(query)).slice(0, MAX);
      active = 0;
      show();
    };
    match();
    load()?.then(match);
  }

  input.addEventListener("input", update);
  suggestionKeys(input, {
    open: () => !list.hidden && items.length > 0,
    move: (step) => {
      active = (active + step + items.length) % items.length;
    },
    choose: () => choose(active),
    close,
    show,
  });
  return { close };
}
