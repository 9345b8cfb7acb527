// The emoji picker's data (#17): the vendored emojibase-data set parses, search ranks names
// before keywords, skin tones apply where the data has them, recent emoji come first.

import assert from "node:assert/strict";
import { test } from "node:test";

import data, { VERSION } from "../../src/hubbub/web/static/app/vendor/emojibase-data/emoji-data.js";
import {
  noteRecent,
  parseEmojiData,
  recentEmoji,
  savedTone,
  saveTone,
  searchEmoji,
  withTone,
} from "../../src/hubbub/web/static/app/js/emoji.js";

const all = parseEmojiData(data);

class MemoryStorage {
  constructor() {
    this.map = new Map();
  }
  getItem(k) {
    return this.map.has(k) ? this.map.get(k) : null;
  }
  setItem(k, v) {
    this.map.set(k, String(v));
  }
}

test("the vendored set has the standard emoji with names, keywords and groups", () => {
  assert.equal(VERSION, "17.0.0");
  assert.ok(all.length > 1800, `${all.length} emoji`);
  const thumbs = all.find((e) => e.emoji === "👍");
  assert.equal(thumbs.name, "thumbs up");
  assert.equal(thumbs.group, "people-body");
  assert.ok(thumbs.keywords.includes("yes"));
  assert.ok(all.every((e) => e.emoji && e.name && e.group && [...e.emoji].length <= 10));
  assert.ok(all.every((e) => e.group !== "component"));
});

test("search: a name that starts with the query first, then words, then keywords", () => {
  assert.equal(searchEmoji(all, "thumbs")[0].emoji, "👍");
  assert.equal(searchEmoji(all, "red heart")[0].emoji, "❤️");
  const party = searchEmoji(all, "party").map((e) => e.emoji);
  assert.ok(party.includes("🎉"), party.join(""));
  assert.ok(party.indexOf("🥳") < party.indexOf("🎉"), "the name match ranks first");
  assert.deepEqual(searchEmoji(all, "zzqqxx"), []);
  assert.equal(searchEmoji(all, "").length, 200);
});

test("skin tones: five variants, light to dark, where the data has them", () => {
  const wave = all.find((e) => e.emoji === "👋");
  assert.deepEqual(wave.skins, ["👋🏻", "👋🏼", "👋🏽", "👋🏾", "👋🏿"]);
  assert.equal(withTone(wave, 0), "👋");
  assert.equal(withTone(wave, 5), "👋🏿");
  const cat = all.find((e) => e.emoji === "🐱");
  assert.equal(cat.skins, null);
  assert.equal(withTone(cat, 3), "🐱");
});

test("recent emoji: the last used first, each once, at most 24; the tone is remembered", () => {
  const storage = new MemoryStorage();
  assert.deepEqual(recentEmoji(storage), []);
  noteRecent(storage, "🎉");
  noteRecent(storage, "👍");
  noteRecent(storage, "🎉");
  assert.deepEqual(recentEmoji(storage), ["🎉", "👍"]);
  for (let i = 0; i < 30; i++) noteRecent(storage, String(i));
  assert.equal(recentEmoji(storage).length, 24);
  storage.setItem("hubbub.recentEmoji", "not json");
  assert.deepEqual(recentEmoji(storage), []);
  assert.equal(savedTone(storage), 0);
  saveTone(storage, 4);
  assert.equal(savedTone(storage), 4);
  storage.setItem("hubbub.emojiTone", "9");
  assert.equal(savedTone(storage), 0);
});
