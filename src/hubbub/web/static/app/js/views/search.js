// Message search (#16): a dialog opened by Ctrl+K / Cmd+K anywhere, `/` when not typing, or
// the header's Search button. The query box is a combobox over the results (a listbox): Up and
// Down choose, Enter opens, Escape closes. Chips under it edit the query's filters (from:,
// in:, has:, before:, after:) and the scope (search-chips.js). Results show the
// room, author, time and the message with its matches marked (<mark> built as DOM nodes from
// the server's code-point offsets: search-query.js); "More results" follows next_cursor.
//
// Opening a result goes where a permalink goes (#/r/<room>/<seq>, main.js): the room opened
// at the message (GET messages?around=), scrolled to it and briefly highlighted; a reply that
// lives only in its thread opens its root there and the thread beside it.

import { ApiError } from "../api.js";
import { isolated, visibleText } from "../bidi.js";
import { onlyInThread } from "../conversations.js";
import { $, h, replaceChildren } from "../dom.js";
import { formatFull, formatWhen } from "../format.js";
import { icon } from "../icons.js";
import { excerpt, markPieces, queryWords } from "../search-query.js";
import { authorName } from "./author.js";
import { mountSearchChips } from "./search-chips.js";
import { cardsSummary } from "../cards.js";
import { OPEN_THREAD } from "./message-extras.js";

const SEARCH_DELAY_MS = 250;
const PAGE = 20;
const FLASH_MS = 1500;
// A filter's key typed with no value yet ("from:"): wait for the value before searching.
const KEY_ONLY = /(?:^|\s)(?:from|in|has|before|after):$/i;

/**
 * @typedef {import("../search.js").Hit} Hit
 * @typedef {import("../store.js").Message} Message
 */

/**
 * The element focus is in is one to type in: `/` is a character there, not a shortcut.
 * @param {EventTarget | null} target
 */
function isTyping(target) {
  const el = /** @type {HTMLElement | null} */ (target);
  if (!el || !el.tagName) return false;
  return el.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(el.tagName);
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./confirm.js").Confirm} o.confirm
 * @param {(roomId: string, seq: number) => Promise<void>} o.onOpen  open the room at a message
 *   (the permalink's way)
 * @param {(err: unknown) => void} o.onError
 */
export function mountSearch({ client, confirm, onOpen, onError }) {
  const store = client.store;
  /** @type {Hit[]} */
  let hits = [];
  let active = -1;
  /** @type {string | null} */
  let nextCursor = null;
  /** @type {{q: string, scope: string} | null} what the results shown answer */
  let shownFor = null;
  /** @type {AbortController | null} */
  let inflight = null;
  /** @type {number | undefined} */
  let timer;
  /** @type {HTMLElement | null} where focus was before the dialog opened */
  let returnTo = null;

  const input = h("input", {
    id: "search-input",
    type: "text",
    role: "combobox",
    "aria-autocomplete": "list",
    "aria-expanded": "false",
    "aria-controls": "search-results",
    "aria-describedby": "search-help",
    "aria-label": "Search messages",
    placeholder: "Search messages",
    autocomplete: "off",
    autocapitalize: "none",
    spellcheck: "false",
    maxlength: 1000,
  });
  const chips = mountSearchChips({ client, input, onChange: () => schedule(0) });
  const status = h("p", { id: "search-status", class: "search-status muted small", role: "status" });
  const error = h("p", { id: "search-error", class: "error search-error", role: "alert" });
  const list = h("ul", { id: "search-results", class: "search-results", role: "listbox", "aria-label": "Search results" });
  const more = h("button", { type: "button", id: "search-more", class: "small", hidden: true, onclick: () => loadMore() }, "More results");
  const dialog = h(
    "dialog",
    { id: "search-dialog", class: "search-dialog", "aria-labelledby": "search-title" },
    h(
      "div",
      { class: "dialog-head" },
      h("h2", { id: "search-title" }, "Search messages"),
      h("button", { type: "button", class: "icon-button", "aria-label": "Close search", onclick: () => close() }, icon("x")),
    ),
    h(
      "form",
      { role: "search", class: "search-form", novalidate: true, onsubmit: (/** @type {Event} */ e) => e.preventDefault() },
      h("span", { class: "search-icon", "aria-hidden": "true" }, icon("search")),
      input,
    ),
    chips.element,
    h(
      "p",
      { id: "search-help", class: "search-help muted small" },
      "Up and Down choose a result, Enter opens it, Escape closes. ",
      h("span", {}, '"a phrase" · prefix* · -word · from:name · in:room · has:link · has:file · before:/after:YYYY-MM-DD'),
    ),
    status,
    error,
    list,
    h("div", { class: "search-foot" }, more),
  );
  document.body.append(dialog);

  // -- searching -----------------------------------------------------------------------------

  /**
   * Search for what the box holds after a pause in typing; the results shown until then are
   * marked as not answering it.
   * @param {number} ms
   */
  function schedule(ms = SEARCH_DELAY_MS) {
    clearTimeout(timer);
    const q = input.value.trim();
    if (q && !(shownFor && shownFor.q === q && shownFor.scope === chips.scope) && !KEY_ONLY.test(q)) {
      status.textContent = "Searching…";
      list.setAttribute("aria-busy", "true");
    }
    timer = setTimeout(run, ms);
  }

  function clearResults() {
    list.removeAttribute("aria-busy");
    hits = [];
    active = -1;
    nextCursor = null;
    shownFor = null;
    list.replaceChildren();
    more.hidden = true;
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
  }

  async function run() {
    clearTimeout(timer);
    const q = input.value.trim();
    if (inflight) inflight.abort();
    inflight = null;
    error.textContent = "";
    if (!q) {
      clearResults();
      status.textContent = "Type words to find, or pick a filter.";
      return;
    }
    if (shownFor && shownFor.q === q && shownFor.scope === chips.scope) return;
    if (KEY_ONLY.test(q)) {
      status.textContent = "Type the filter's value.";
      return;
    }
    const controller = (inflight = new AbortController());
    status.textContent = "Searching…";
    try {
      const page = await client.search.find({ q, scope: chips.scope, limit: PAGE, signal: controller.signal });
      if (controller.signal.aborted) return;
      inflight = null;
      clearResults();
      shownFor = { q, scope: chips.scope };
      hits = page.results;
      nextCursor = page.next_cursor;
      active = hits.length ? 0 : -1;
      renderResults();
    } catch (err) {
      if (controller.signal.aborted) return;
      inflight = null;
      clearResults();
      status.textContent = "";
      error.textContent = describeError(err);
    }
  }

  async function loadMore() {
    if (!nextCursor || !shownFor || inflight) return;
    const controller = (inflight = new AbortController());
    const from = hits.length;
    more.disabled = true;
    status.textContent = "Loading more results…";
    try {
      const page = await client.search.find({ q: shownFor.q, scope: chips.scope, cursor: nextCursor, limit: PAGE, signal: controller.signal });
      if (controller.signal.aborted) return;
      hits = hits.concat(page.results);
      nextCursor = page.next_cursor;
      if (page.results.length) active = from;
      renderResults();
      input.focus();
    } catch (err) {
      if (controller.signal.aborted) return;
      error.textContent = describeError(err);
    } finally {
      if (inflight === controller) inflight = null;
      more.disabled = false;
    }
  }

  /** @param {unknown} err */
  function describeError(err) {
    if (err instanceof ApiError && err.status === 422) {
      return `This search cannot run: ${err.message}. Check the filters (from:name, in:room, has:link, before:YYYY-MM-DD).`;
    }
    if (err instanceof ApiError) return err.message;
    return "Cannot reach the server. Try again in a moment.";
  }

  // -- results -------------------------------------------------------------------------------

  /** @param {Hit} hit */
  function roomLabel(hit) {
    const room = store.rooms.get(hit.room.id);
    if (hit.room.kind === "dm") return room ? store.dmPartner(room) || hit.room.name : hit.room.name;
    return `#${hit.room.name}`;
  }

  /** @param {Hit} hit */
  function highlighted(hit) {
    const cut = excerpt(hit.message.text, hit.highlights);
    return markPieces(cut.text, cut.highlights).map((p) =>
      p.mark ? h("mark", {}, visibleText(p.text)) : visibleText(p.text),
    );
  }

  /**
   * @param {Hit} hit
   * @param {number} i
   */
  function resultRow(hit, i) {
    const m = hit.message;
    const joined = store.rooms.has(hit.room.id);
    return h(
      "li",
      {
        id: `search-result-${i}`,
        class: "search-result",
        role: "option",
        "aria-selected": String(i === active),
        dataset: { roomId: m.room_id, seq: String(m.seq) },
        onmousedown: (/** @type {MouseEvent} */ e) => e.preventDefault(), // focus stays in the box
        onclick: () => openHit(i),
      },
      h(
        "div",
        { class: "search-result-head" },
        h("span", { class: "search-room" }, isolated(roomLabel(hit))),
        joined ? null : h("span", { class: "tag" }, "not joined"),
        onlyInThread(m) ? h("span", { class: "tag" }, "in a thread") : null,
        authorName(m.author),
        h("time", { datetime: m.created_at, title: formatFull(m.created_at), class: "time" }, formatWhen(m.created_at)),
      ),
      h("p", { class: "search-text" }, h("bdi", {}, m.text ? highlighted(hit) : visibleText(cardsSummary(m)))),
    );
  }

  function renderResults() {
    replaceChildren(list, hits.map((hit, i) => resultRow(hit, i)));
    list.removeAttribute("aria-busy");
    more.hidden = !nextCursor;
    input.setAttribute("aria-expanded", String(hits.length > 0));
    const words = shownFor ? queryWords(shownFor.q) : "";
    if (!hits.length) {
      status.textContent = `No messages match ${words ? `“${words}”` : "these filters"}${chips.scope === "member" ? " in your rooms. Try “All public rooms”, or fewer words." : ". Try fewer words or filters."}`;
    } else {
      const n = hits.length;
      status.textContent = `${n}${nextCursor ? "+" : ""} ${n === 1 ? "result" : "results"}${nextCursor ? " (newest first; more below)" : ""}`;
    }
    highlightActive();
  }

  function highlightActive() {
    for (const el of list.children) {
      el.setAttribute("aria-selected", String(el.id === `search-result-${active}`));
    }
    if (active >= 0 && active < hits.length) {
      input.setAttribute("aria-activedescendant", `search-result-${active}`);
      document.getElementById(`search-result-${active}`)?.scrollIntoView({ block: "nearest" });
    } else {
      input.removeAttribute("aria-activedescendant");
    }
  }

  /** @param {number} i */
  async function openHit(i) {
    const hit = hits[i];
    if (!hit) return;
    const m = hit.message;
    close(false);
    try {
      if (!store.rooms.has(m.room_id)) {
        const answer = await confirm.ask({
          title: `Join #${hit.room.name}?`,
          text: `This message is in #${hit.room.name}, a public room you are not in. Join it to read the message where it was sent?`,
          confirm: "Join",
        });
        if (!answer) return;
        await client.join(m.room_id);
      }
      // A reply that shows only in its thread: its root in the timeline, the thread beside it.
      const root = onlyInThread(m) && m.thread_root ? await client.fetchMessage(m.thread_root) : null;
      await onOpen(m.room_id, root ? root.seq : m.seq);
      if (root) {
        document.dispatchEvent(new CustomEvent(OPEN_THREAD, { detail: { rootId: root.id } }));
        flashInThread(m.seq);
      } else {
        document.getElementById(`msg-${m.seq}`)?.focus({ preventScroll: true });
      }
    } catch (err) {
      onError(err);
    }
  }

  /**
   * Scroll the thread panel to a reply and highlight it, once the panel shows it.
   * @param {number} seq
   */
  function flashInThread(seq) {
    const body = document.getElementById("side-panel-body");
    if (!body) return;
    const find = () => /** @type {HTMLElement | null} */ (body.querySelector(`.thread-reply[data-seq="${seq}"]`));
    const show = (/** @type {HTMLElement} */ el) => {
      el.scrollIntoView({ block: "center" });
      el.classList.add("flash");
      setTimeout(() => el.classList.remove("flash"), FLASH_MS);
    };
    const now = find();
    if (now) return show(now);
    const watch = new MutationObserver(() => {
      const el = find();
      if (!el) return;
      watch.disconnect();
      show(el);
    });
    watch.observe(body, { childList: true, subtree: true });
    setTimeout(() => watch.disconnect(), 10_000);
  }

  // -- opening, closing, keys ----------------------------------------------------------------

  function open() {
    if (!dialog.open) {
      returnTo = /** @type {HTMLElement | null} */ (document.activeElement);
      dialog.showModal();
    }
    chips.render();
    input.focus();
    input.select();
    if (!input.value.trim()) status.textContent = "Type words to find, or pick a filter.";
  }

  /** @param {boolean} [restoreFocus]  back where it was (not when a result takes it) */
  function close(restoreFocus = true) {
    if (dialog.open) dialog.close();
    if (restoreFocus && returnTo && returnTo.isConnected) returnTo.focus();
    returnTo = null;
  }

  input.addEventListener("input", () => {
    chips.render();
    schedule();
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      e.preventDefault();
      if (!hits.length) return;
      if (e.key === "ArrowDown" && active === hits.length - 1 && nextCursor) {
        loadMore();
        return;
      }
      active = e.key === "ArrowDown" ? Math.min(hits.length - 1, active + 1) : Math.max(0, active - 1);
      highlightActive();
    } else if (e.key === "Home" && e.ctrlKey && hits.length) {
      e.preventDefault();
      active = 0;
      highlightActive();
    } else if (e.key === "End" && e.ctrlKey && hits.length) {
      e.preventDefault();
      active = hits.length - 1;
      highlightActive();
    } else if (e.key === "Enter") {
      e.preventDefault();
      const q = input.value.trim();
      // Enter opens the chosen result of this query; on a query not searched yet, searches.
      if (shownFor && shownFor.q === q && shownFor.scope === chips.scope && active >= 0) openHit(active);
      else schedule(0);
    }
  });
  // Escape anywhere in the dialog closes it (the dialog's own cancel), after a date picker's.
  dialog.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.defaultPrevented) {
      e.preventDefault();
      close();
    }
  });
  // A click on the backdrop (outside the dialog's box) closes it.
  dialog.addEventListener("click", (e) => {
    if (e.target === dialog) {
      const r = dialog.getBoundingClientRect();
      const inside = e.clientX >= r.left && e.clientX <= r.right && e.clientY >= r.top && e.clientY <= r.bottom;
      if (!inside) close();
    }
  });

  // Ctrl+K / Cmd+K anywhere; `/` when not typing. Not over another dialog.
  document.addEventListener("keydown", (e) => {
    const mod = e.ctrlKey || e.metaKey;
    const shortcut =
      (mod && !e.altKey && !e.shiftKey && e.key.toLowerCase() === "k") ||
      (e.key === "/" && !mod && !e.altKey && !isTyping(e.target));
    if (!shortcut || e.defaultPrevented) return;
    if (!dialog.open && document.querySelector("dialog[open]")) return;
    if (dialog.open && e.key === "/") return;
    e.preventDefault();
    open();
  });

  $("open-search").addEventListener("click", () => open());

  return { open, close };
}
