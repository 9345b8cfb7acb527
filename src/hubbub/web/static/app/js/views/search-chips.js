// The search dialog's chips (#16): the filters in the query, each removable, and chips that
// add them (From…, From me, In #this-room, Has link, Has file, Before/After a date) or widen
// the scope to public rooms I am not in. Filters are edited in the query text itself
// (search-query.js), so what is typed stays the one source of the search; the scope is not
// part of the query language, so it lives here.

import { isolated } from "../bidi.js";
import { h, replaceChildren } from "../dom.js";
import { icon } from "../icons.js";
import { hasFilter, queryFilters, withFilter, withoutFilter, withoutRange } from "../search-query.js";

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {HTMLInputElement} o.input  the query box
 * @param {() => void} o.onChange  the query or the scope changed: search again
 */
export function mountSearchChips({ client, input, onChange }) {
  const store = client.store;
  let scope = /** @type {"member" | "all"} */ ("member");
  const element = h("div", { id: "search-chips", class: "search-chips", role: "group", "aria-label": "Filters" });
  const before = h("input", { type: "date", id: "search-before", class: "search-date", onchange: () => setDate("before", before.value) });
  const after = h("input", { type: "date", id: "search-after", class: "search-date", onchange: () => setDate("after", after.value) });

  /**
   * Put `q` in the box, focus it, and search.
   * @param {string} q
   * @param {boolean} [typeMore]  leave a trailing "key:" for the value to be typed
   */
  function setQuery(q, typeMore = false) {
    input.value = typeMore ? q : q.replace(/\s+$/, "");
    input.focus();
    if (typeMore) input.setSelectionRange(input.value.length, input.value.length);
    render();
    onChange();
  }

  /**
   * @param {string} key
   * @param {string} value
   */
  function flip(key, value) {
    const q = input.value;
    setQuery(hasFilter(q, key, value) ? withoutFilter(q, key, value) : withFilter(q, key, value));
  }

  /**
   * @param {"before" | "after"} key
   * @param {string} value  YYYY-MM-DD, or "" to drop it
   */
  function setDate(key, value) {
    setQuery(value ? withFilter(input.value, key, value) : withoutFilter(input.value, key));
  }

  /**
   * A chip that adds filter `key:value`, pressed while the query has it.
   * @param {string} id
   * @param {string} label
   * @param {string} key
   * @param {string} value
   */
  function filterChip(id, label, key, value) {
    const pressed = hasFilter(input.value, key, value);
    return h("button", { type: "button", class: "chip", id, "aria-pressed": String(pressed), onclick: () => flip(key, value) }, label);
  }

  function render() {
    const q = input.value;
    const filters = queryFilters(q);
    const room = client.currentRoomId ? store.rooms.get(client.currentRoomId) : undefined;
    const me = store.me?.username;
    const dateOf = (/** @type {string} */ key) => filters.filter((f) => f.key === key).map((f) => f.value).pop() || "";
    before.value = DAY.test(dateOf("before")) ? dateOf("before") : "";
    after.value = DAY.test(dateOf("after")) ? dateOf("after") : "";
    const focused = /** @type {HTMLElement | null} */ (document.activeElement)?.id;
    replaceChildren(
      element,
      // The filters in the query, each removable.
      filters.map((f) =>
        h(
          "button",
          {
            type: "button",
            class: "chip chip-filter",
            "aria-label": `Remove filter ${f.key}: ${f.value}`,
            onclick: () => setQuery(withoutRange(input.value, f.start, f.end)),
          },
          h("span", { class: "chip-key" }, `${f.key}:`),
          " ",
          isolated(f.value),
          icon("x"),
        ),
      ),
      // Filters to add.
      h(
        "button",
        { type: "button", class: "chip", id: "search-chip-from", onclick: () => setQuery(`${input.value.trimEnd()} from:`.trimStart(), true) },
        "From…",
      ),
      me ? filterChip("search-chip-from-me", "From me", "from", me) : null,
      room && room.kind === "room" ? filterChip("search-chip-in", `In #${room.name}`, "in", room.name) : null,
      filterChip("search-chip-link", "Has link", "has", "link"),
      filterChip("search-chip-file", "Has file", "has", "file"),
      h("label", { class: "chip chip-date" }, "Before ", before),
      h("label", { class: "chip chip-date" }, "After ", after),
      h(
        "button",
        {
          type: "button",
          class: "chip",
          id: "search-chip-scope",
          "aria-pressed": String(scope === "all"),
          onclick: () => {
            scope = scope === "all" ? "member" : "all";
            render();
            input.focus();
            onChange();
          },
        },
        "All public rooms",
      ),
    );
    // A chip rebuilt under the pointer keeps the keyboard where it was.
    if (focused && focused.startsWith("search-chip-")) document.getElementById(focused)?.focus();
  }

  return {
    element,
    render,
    /** "all" while the scope chip is pressed: public rooms I am not in are searched too */
    get scope() {
      return scope;
    },
  };
}
