// An integration's cards (#19): only a checked colour reaches a style, only an http(s) link
// becomes a title's href, and fields pair up as Slack lays them out.

import assert from "node:assert/strict";
import { test } from "node:test";

import { cardColor, cardLink, cardsSummary, cardTime, fieldRows } from "../../src/hubbub/web/static/app/js/cards.js";

test("hex colours pass, normalised, with or without their #", () => {
  assert.equal(cardColor("#36a64f"), "#36a64f");
  assert.equal(cardColor("#36A64F"), "#36a64f");
  assert.equal(cardColor("36a64f"), "#36a64f");
  assert.equal(cardColor("#abc"), "#abc");
});

test("Slack's named colours map to colours, ignoring case", () => {
  assert.equal(cardColor("good"), "#2eb886");
  assert.equal(cardColor("Warning"), "#daa038");
  assert.equal(cardColor("danger"), "#a30200");
});

test("anything else is no colour at all", () => {
  for (const bad of [
    "red; background: url(https://evil.example/x)",
    "url(javascript:alert(1))",
    "#12345",
    "#1234567",
    "rgb(1,2,3)",
    "expression(alert(1))",
    "",
    "#36a64f;",
    null,
    undefined,
    42,
  ]) {
    assert.equal(cardColor(bad), null, String(bad));
  }
});

test("a title links only to http(s)", () => {
  assert.equal(cardLink("https://ci.example.com/build/42"), "https://ci.example.com/build/42");
  assert.equal(cardLink("http://example.com"), "http://example.com/");
  for (const bad of ["javascript:alert(1)", "JavaScript:alert(1)", "java\tscript:alert(1)", " javascript:x", "data:text/html,x", "mailto:a@b.c", "/relative", "", null]) {
    assert.equal(cardLink(bad), null, String(bad));
  }
});

test("a card's ts is Unix seconds; nonsense is no time", () => {
  assert.equal(cardTime(1700000000), "2023-11-14T22:13:20.000Z");
  for (const bad of [null, undefined, 0, -5, Number.NaN, Infinity, "1700000000", 1e15]) assert.equal(cardTime(bad), null, String(bad));
});

test("two short fields share a row; a long one stands alone", () => {
  const a = { title: "a", short: true };
  const b = { title: "b", short: true };
  const c = { title: "c", short: false };
  const d = { title: "d", short: true };
  const e = { title: "e", short: true };
  const f = { title: "f", short: true };
  assert.deepEqual(fieldRows([a, b, c, d, e, f]), [[a, b], [c], [d, e], [f]]);
  assert.deepEqual(fieldRows([a, c, b]), [[a], [c], [b]]);
  assert.deepEqual(fieldRows([]), []);
});

test("a message of cards only is summed up in one line for search results: titles, else pretext, fallback or text", () => {
  const m = {
    text: "",
    cards: [
      { title: "Build 42", text: "green" },
      { pretext: "A deploy", fallback: "ignored: there is a pretext" },
      { fallback: "Disk 91% full" },
      { color: "good" },
    ],
  };
  assert.equal(cardsSummary(m), "Build 42 · A deploy · Disk 91% full");
  assert.equal(cardsSummary({ text: "plain" }), "");
  assert.equal(cardsSummary({ cards: "not a list" }), "");
});
