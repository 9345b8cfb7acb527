// The standard emoji set for the picker (#17): parsed from the vendored emojibase-data
// (vendor/emojibase-data/, loaded on first use), searched by name and keyword, with the emoji I
// used recently first and my skin tone remembered.

/**
 * @typedef {object} Emoji
 * @property {string} emoji
 * @property {string} name
 * @property {string[]} keywords
 * @property {string} group
 * @property {string[] | null} skins  light to dark, where the emoji has them
 */

const RECENT_KEY = "hubbub.recentEmoji";
const TONE_KEY = "hubbub.emojiTone";
const RECENT_MAX = 24;

/**
 * @param {string} text  vendor/emojibase-data/emoji-data.js's lines
 * @returns {Emoji[]}
 */
export function parseEmojiData(text) {
  return text.split("\n").map((line) => {
    const [emoji, name, keywords, group, skins] = line.split("\t");
    return { emoji, name, keywords: keywords ? keywords.split(" ") : [], group, skins: skins ? skins.split(" ") : null };
  });
}

/** @type {Promise<Emoji[]> | null} */
let loading = null;

/** The emoji set, loaded once. */
export function loadEmoji() {
  if (!loading) {
    loading = import("../vendor/emojibase-data/emoji-data.js").then((m) => parseEmojiData(m.default));
  }
  return loading;
}

/**
 * Emoji matching a query, best first: the name starts with it, then a word of the name, then a
 * keyword, then the name contains it. Every word of the query must match.
 * @param {Emoji[]} list
 * @param {string} query
 * @param {number} [limit]
 */
export function searchEmoji(list, query, limit = 200) {
  const words = query.toLowerCase().trim().split(/\s+/).filter(Boolean);
  if (!words.length) return list.slice(0, limit);
  /** @type {[number, number, Emoji][]} */
  const scored = [];
  list.forEach((e, i) => {
    let total = 0;
    for (const w of words) {
      const s = score(e, w);
      if (s < 0) return;
      total += s;
    }
    scored.push([total, i, e]);
  });
  scored.sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  return scored.slice(0, limit).map((x) => x[2]);
}

/**
 * @param {Emoji} e
 * @param {string} w
 */
function score(e, w) {
  const name = e.name.toLowerCase();
  if (name.startsWith(w)) return 0;
  if (name.split(/[\s:-]+/).some((part) => part.startsWith(w))) return 1;
  if (e.keywords.some((k) => k.startsWith(w))) return 2;
  if (name.includes(w)) return 3;
  return -1;
}

/**
 * An emoji in a skin tone (1–5), or as it is (0, or no tones).
 * @param {Emoji} e
 * @param {number} tone
 */
export const withTone = (e, tone) => (tone && e.skins ? e.skins[tone - 1] : e.emoji);

/**
 * @param {Storage | null} storage
 * @returns {string[]}
 */
export function recentEmoji(storage) {
  try {
    const list = JSON.parse((storage && storage.getItem(RECENT_KEY)) || "[]");
    return Array.isArray(list) ? list.filter((x) => typeof x === "string").slice(0, RECENT_MAX) : [];
  } catch {
    return [];
  }
}

/**
 * Remember an emoji as used just now (first in the recent list).
 * @param {Storage | null} storage
 * @param {string} emoji
 */
export function noteRecent(storage, emoji) {
  const list = [emoji, ...recentEmoji(storage).filter((x) => x !== emoji)].slice(0, RECENT_MAX);
  try {
    storage?.setItem(RECENT_KEY, JSON.stringify(list));
  } catch {
    /* private mode: recent emoji are a nicety */
  }
  return list;
}

/** @param {Storage | null} storage */
export function savedTone(storage) {
  const n = Number((storage && storage.getItem(TONE_KEY)) || 0);
  return Number.isInteger(n) && n >= 0 && n <= 5 ? n : 0;
}

/**
 * @param {Storage | null} storage
 * @param {number} tone
 */
export function saveTone(storage, tone) {
  try {
    storage?.setItem(TONE_KEY, String(tone));
  } catch {
    /* as above */
  }
}
