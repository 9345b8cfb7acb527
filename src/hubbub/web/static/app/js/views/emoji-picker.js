// The full emoji picker (#17): search by name or keyword, the emoji I used recently first, skin
// tones for the emoji that have them. Arrow keys move in the grid, Enter picks, Escape closes.

import { h, replaceChildren } from "../dom.js";
import { loadEmoji, noteRecent, recentEmoji, savedTone, saveTone, searchEmoji, withTone } from "../emoji.js";

const COLUMNS = 8;
const TONE_SWATCHES = ["✋", "✋🏻", "✋🏼", "✋🏽", "✋🏾", "✋🏿"];
const TONE_NAMES = ["Default skin tone", "Light skin tone", "Medium-light skin tone", "Medium skin tone", "Medium-dark skin tone", "Dark skin tone"];
const GROUP_NAMES = /** @type {Record<string, string>} */ ({
  "smileys-emotion": "Smileys and emotion",
  "people-body": "People and body",
  "animals-nature": "Animals and nature",
  "food-drink": "Food and drink",
  "travel-places": "Travel and places",
  activities: "Activities",
  objects: "Objects",
  symbols: "Symbols",
  flags: "Flags",
});

/** @returns {Storage | null} */
function storage() {
  try {
    return window.localStorage;
  } catch {
    return null;
  }
}

/**
 * A "More emoji" button for the quick reactions: it opens the full picker beside them.
 * @param {() => HTMLElement} quick  the quick picker, hidden while the full one shows
 * @param {(emoji: string) => void} onPick
 * @param {string} fk  its focus key in the timeline
 */
export function moreEmojiButton(quick, onPick, fk) {
  return h(
    "button",
    {
      type: "button",
      class: "emoji-more",
      "aria-label": "More emoji",
      title: "More emoji",
      dataset: { fk },
      onclick: () => {
        const el = quick();
        el.hidden = true;
        const picker = emojiPicker({
          onPick: (emoji) => {
            picker.remove();
            onPick(emoji);
          },
          onClose: () => picker.remove(),
        });
        el.insertAdjacentElement("afterend", picker);
        /** @type {HTMLInputElement | null} */ (picker.querySelector("input"))?.focus();
      },
    },
    "…",
  );
}

/**
 * The picker as an element (it loads the emoji set on first use).
 * @param {{onPick: (emoji: string) => void, onClose: () => void}} o
 */
export function emojiPicker({ onPick, onClose }) {
  let tone = savedTone(storage());
  /** @type {import("../emoji.js").Emoji[]} */
  let all = [];
  const search = h("input", {
    type: "search",
    class: "emoji-search",
    placeholder: "Search emoji",
    "aria-label": "Search emoji",
    autocomplete: "off",
    spellcheck: "false",
  });
  const grid = h("div", { class: "emoji-grid", role: "grid", "aria-label": "Emoji" }, h("p", { class: "emoji-section" }, "Loading…"));
  const tones = h("div", { class: "emoji-tones", role: "group", "aria-label": "Skin tone" });
  const root = h("div", { class: "emoji-full", role: "dialog", "aria-label": "Pick an emoji" }, search, tones, grid);

  /** @param {string} emoji */
  function pick(emoji) {
    noteRecent(storage(), emoji);
    onPick(emoji);
  }

  /**
   * @param {string} emoji
   * @param {string} name
   */
  const cell = (emoji, name) =>
    h("button", { type: "button", class: "emoji-cell", tabindex: "-1", "aria-label": name, title: name, onclick: () => pick(emoji) }, emoji);

  function renderTones() {
    replaceChildren(
      tones,
      TONE_SWATCHES.map((swatch, i) =>
        h(
          "button",
          {
            type: "button",
            "aria-pressed": String(i === tone),
            "aria-label": TONE_NAMES[i],
            title: TONE_NAMES[i],
            onclick: () => {
              tone = i;
              saveTone(storage(), i);
              renderTones();
              renderGrid();
            },
          },
          swatch,
        ),
      ),
    );
  }

  function renderGrid() {
    const query = search.value;
    /** @type {HTMLElement[]} */
    const cells = [];
    if (query.trim()) {
      const found = searchEmoji(all, query);
      for (const e of found) cells.push(cell(withTone(e, tone), e.name));
      if (!found.length) cells.push(h("p", { class: "emoji-section" }, "No emoji match."));
    } else {
      const byEmoji = new Map(all.map((e) => [e.emoji, e]));
      const recent = recentEmoji(storage());
      if (recent.length) {
        cells.push(h("p", { class: "emoji-section" }, "Recently used"));
        for (const emoji of recent) cells.push(cell(emoji, byEmoji.get(emoji)?.name || emoji));
      }
      let group = "";
      for (const e of all) {
        if (e.group !== group) {
          group = e.group;
          cells.push(h("p", { class: "emoji-section" }, GROUP_NAMES[group] || group));
        }
        cells.push(cell(withTone(e, tone), e.name));
      }
    }
    replaceChildren(grid, cells);
    const first = /** @type {HTMLElement | null} */ (grid.querySelector(".emoji-cell"));
    if (first) first.tabIndex = 0;
  }

  /** @param {number} delta */
  function move(delta) {
    const cells = /** @type {HTMLElement[]} */ ([...grid.querySelectorAll(".emoji-cell")]);
    const at = cells.indexOf(/** @type {HTMLElement} */ (document.activeElement));
    const next = cells[Math.max(0, Math.min(cells.length - 1, (at < 0 ? -delta : at) + delta))];
    if (!next) return;
    for (const c of cells) c.tabIndex = -1;
    next.tabIndex = 0;
    next.focus();
  }

  search.addEventListener("input", renderGrid);
  root.addEventListener("keydown", (e) => {
    const inGrid = /** @type {Element} */ (e.target).classList?.contains("emoji-cell");
    if (e.key === "Escape") {
      e.preventDefault();
      e.stopPropagation();
      onClose();
    } else if (e.key === "Enter" && e.target === search) {
      e.preventDefault();
      /** @type {HTMLElement | null} */ (grid.querySelector(".emoji-cell"))?.click();
    } else if (e.key === "ArrowDown" && e.target === search) {
      e.preventDefault();
      move(0);
    } else if (inGrid && ["ArrowRight", "ArrowLeft", "ArrowDown", "ArrowUp"].includes(e.key)) {
      e.preventDefault();
      e.stopPropagation();
      move({ ArrowRight: 1, ArrowLeft: -1, ArrowDown: COLUMNS, ArrowUp: -COLUMNS }[e.key] || 0);
    }
  });

  renderTones();
  loadEmoji().then((list) => {
    all = list;
    renderGrid();
  }, () => replaceChildren(grid, h("p", { class: "emoji-section" }, "Could not load the emoji.")));
  return root;
}
