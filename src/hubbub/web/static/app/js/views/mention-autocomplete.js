// @mention autocomplete in a composer (#17): typing "@" and the start of a name suggests the
// room's members first (then @room and @here), then anyone else whose username starts so
// (GET /users?prefix=). Up/Down choose, Enter or Tab insert "@username ", Escape closes.

import { visibleText } from "../bidi.js";
import { h, replaceChildren } from "../dom.js";
import { displayName } from "../names.js";
import { suggestionKeys } from "./suggestion-keys.js";

const MAX = 8;
const TOKEN = /(?:^|[^A-Za-z0-9_@.])@([A-Za-z0-9_.-]{0,32})$/;

/**
 * @typedef {{username: string, label: string}} Suggestion
 */

/**
 * The "@name" being typed before the caret: its start and the name so far, or null.
 * @param {string} text
 * @param {number} caret
 * @returns {{start: number, query: string} | null}
 */
export function mentionQuery(text, caret) {
  const m = TOKEN.exec(text.slice(0, caret));
  if (!m) return null;
  return { start: caret - m[1].length - 1, query: m[1] };
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {HTMLTextAreaElement} o.input
 * @param {() => string | null} o.roomId
 * @param {string} o.id  the listbox's id
 */
export function attachMentionAutocomplete({ client, input, roomId, id }) {
  const store = client.store;
  const list = h("ul", { id, class: "suggestions mention-suggestions", role: "listbox", "aria-label": "People to mention", hidden: true });
  input.insertAdjacentElement("afterend", list);
  input.setAttribute("aria-autocomplete", "list");
  input.setAttribute("aria-controls", id);
  /** @type {Suggestion[]} */
  let items = [];
  let active = 0;
  /** @type {{start: number, query: string} | null} */
  let token = null;
  /** @type {AbortController | null} */
  let pending = null;

  function close() {
    list.hidden = true;
    items = [];
    token = null;
    input.removeAttribute("aria-activedescendant");
    input.setAttribute("aria-expanded", "false");
    if (pending) pending.abort();
    pending = null;
  }

  function show() {
    if (!items.length) return close();
    active = Math.min(active, items.length - 1);
    replaceChildren(
      list,
      items.map((s, i) =>
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
          h("strong", {}, `@${s.username}`),
          s.label ? h("span", { class: "muted small" }, " ", visibleText(s.label)) : null,
        ),
      ),
    );
    list.hidden = false;
    input.setAttribute("aria-expanded", "true");
    input.setAttribute("aria-activedescendant", `${id}-${active}`);
  }

  /** @param {number} i */
  function choose(i) {
    const s = items[i];
    if (!s || !token) return;
    const caret = input.selectionStart ?? input.value.length;
    const before = input.value.slice(0, token.start);
    const after = input.value.slice(caret);
    const insert = `@${s.username} `;
    input.value = before + insert + after.replace(/^ /, "");
    const at = before.length + insert.length;
    input.setSelectionRange(at, at);
    close();
    input.dispatchEvent(new Event("input", { bubbles: true }));
    close();
  }

  /** @param {string} query */
  function local(query) {
    const q = query.toLowerCase();
    const rid = roomId();
    /** @type {Suggestion[]} */
    const out = [];
    const seen = new Set([store.me?.username.toLowerCase()]);
    for (const m of (rid && store.members.get(rid)) || []) {
      const u = m.user.username;
      if (seen.has(u.toLowerCase())) continue;
      if (u.toLowerCase().startsWith(q) || displayName(m.user).toLowerCase().startsWith(q)) {
        seen.add(u.toLowerCase());
        out.push({ username: u, label: displayName(m.user) });
      }
    }
    const room = rid ? store.rooms.get(rid) : undefined;
    if (room && room.kind !== "dm") {
      if ("room".startsWith(q)) out.push({ username: "room", label: "everyone in the room" });
      if ("here".startsWith(q)) out.push({ username: "here", label: "who is here now" });
    }
    return { out: out.slice(0, MAX), seen };
  }

  function update() {
    const caret = input.selectionStart ?? input.value.length;
    const next = mentionQuery(input.value, caret);
    if (!next) return close();
    const changed = !token || token.query !== next.query;
    token = next;
    if (!changed && !list.hidden) return;
    const { out, seen } = local(next.query);
    items = out;
    active = 0;
    show();
    if (pending) pending.abort();
    pending = null;
    if (out.length >= MAX || !next.query) return;
    const controller = (pending = new AbortController());
    const asked = next.query;
    client
      .searchUsers(asked, controller.signal)
      .then((users) => {
        if (controller.signal.aborted || !token || token.query !== asked) return;
        for (const u of users) {
          if (items.length >= MAX) break;
          if (seen.has(u.username.toLowerCase())) continue;
          seen.add(u.username.toLowerCase());
          items.push({ username: u.username, label: displayName(u) });
        }
        show();
      })
      .catch(() => {});
  }

  input.addEventListener("input", update);
  input.addEventListener("click", update);
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
