// The Markdown subset of docs/api.md ("Formatting"): what each construct parses to, what stays
// text, and the link policy (only http, https and mailto ever become links).

import assert from "node:assert/strict";
import { test } from "node:test";

import { linkHref, parse, parseInline, plainText } from "../../src/hubbub/web/static/app/js/markdown.js";

const t = (text) => ({ type: "text", text });
const p = (...children) => ({ type: "paragraph", children });

test("plain text is one paragraph of text", () => {
  assert.deepEqual(parse("hello there"), [p(t("hello there"))]);
});

test("emphasis, strong and strikethrough, with either delimiter", () => {
  assert.deepEqual(parseInline("*a* _b_ **c** __d__ ~~e~~"), [
    { type: "em", children: [t("a")] },
    t(" "),
    { type: "em", children: [t("b")] },
    t(" "),
    { type: "strong", children: [t("c")] },
    t(" "),
    { type: "strong", children: [t("d")] },
    t(" "),
    { type: "del", children: [t("e")] },
  ]);
});

test("emphasis nests inside strong and the other way round", () => {
  assert.deepEqual(parseInline("**bold *and em***"), [
    { type: "strong", children: [t("bold "), { type: "em", children: [t("and em")] }] },
  ]);
  assert.deepEqual(parseInline("*a **b** c*"), [
    { type: "em", children: [t("a "), { type: "strong", children: [t("b")] }, t(" c")] },
  ]);
});

test("delimiters that cannot open or close stay text", () => {
  assert.deepEqual(parseInline("2 * 3 * 4"), [t("2 * 3 * 4")]);
  assert.deepEqual(parseInline("snake_case_name"), [t("snake_case_name")]);
  assert.deepEqual(parseInline("**not closed"), [t("**not closed")]);
  assert.deepEqual(parseInline("~single~"), [t("~single~")]);
  assert.deepEqual(parseInline("* "), [t("* ")]);
});

test("inline code keeps its content literally, markup and HTML included", () => {
  assert.deepEqual(parseInline("run `rm -rf *foo*` now"), [
    t("run "),
    { type: "code", text: "rm -rf *foo*" },
    t(" now"),
  ]);
  assert.deepEqual(parseInline("``a ` b``"), [{ type: "code", text: "a ` b" }]);
  assert.deepEqual(parseInline("`<script>`"), [{ type: "code", text: "<script>" }]);
  assert.deepEqual(parseInline("an `open tick"), [t("an `open tick")]);
});

test("backslash escapes make syntax literal", () => {
  assert.deepEqual(parseInline("\\*not em\\*"), [t("*not em*")]);
  assert.deepEqual(parseInline("\\`x\\`"), [t("`x`")]);
  assert.deepEqual(parseInline("a\\b"), [t("a\\b")]);
});

test("fenced code blocks: the language label, the content as written, an unclosed fence", () => {
  assert.deepEqual(parse("```python\nprint('<b>hi</b>')\n  x = **1**\n```\nafter"), [
    { type: "codeblock", lang: "python", text: "print('<b>hi</b>')\n  x = **1**" },
    p(t("after")),
  ]);
  assert.deepEqual(parse("~~~\nplain\n~~~"), [{ type: "codeblock", lang: "", text: "plain" }]);
  assert.deepEqual(parse("```\nnever closed\n\nstill code"), [
    { type: "codeblock", lang: "", text: "never closed\n\nstill code" },
  ]);
  assert.deepEqual(parse("text\n```\ncode\n```"), [p(t("text")), { type: "codeblock", lang: "", text: "code" }]);
});

test("newlines in a paragraph are line breaks; blank lines separate paragraphs", () => {
  assert.deepEqual(parse("one\ntwo\n\nthree"), [p(t("one"), { type: "br" }, t("two")), p(t("three"))]);
});

test("block quotes hold blocks, and can nest", () => {
  assert.deepEqual(parse("> quoted *em*\n> more\n>> deeper\nafter"), [
    {
      type: "quote",
      children: [
        p(t("quoted "), { type: "em", children: [t("em")] }, { type: "br" }, t("more")),
        { type: "quote", children: [p(t("deeper"))] },
      ],
    },
    p(t("after")),
  ]);
});

test("bullet and ordered lists, a start number, nested lists and continuation lines", () => {
  assert.deepEqual(parse("- one\n- two\n  - inner\n* other kind"), [
    {
      type: "list",
      ordered: false,
      start: 1,
      items: [
        [p(t("one"))],
        [p(t("two")), { type: "list", ordered: false, start: 1, items: [[p(t("inner"))]] }],
        [p(t("other kind"))],
      ],
    },
  ]);
  assert.deepEqual(parse("3. three\n4. four\n   more"), [
    {
      type: "list",
      ordered: true,
      start: 3,
      items: [[p(t("three"))], [p(t("four"), { type: "br" }, t("more"))]],
    },
  ]);
  // A lone marker, or a number without a dot, is not a list.
  assert.deepEqual(parse("-\n2023 was good"), [p(t("-"), { type: "br" }, t("2023 was good"))]);
});

test("headings, tables, images and HTML are not part of the subset: they stay text", () => {
  assert.deepEqual(parse("# not a heading"), [p(t("# not a heading"))]);
  assert.deepEqual(parse("| a | b |\n|---|---|"), [p(t("| a | b |"), { type: "br" }, t("|---|---|"))]);
  assert.deepEqual(parseInline("<img src=x onerror=alert(1)>"), [t("<img src=x onerror=alert(1)>")]);
  assert.deepEqual(parseInline("![alt](https://example.com/a.png)"), [
    t("!"),
    { type: "link", href: "https://example.com/a.png", children: [t("alt")] },
  ]);
});

test("links: http, https and mailto only; anything else stays as written", () => {
  assert.deepEqual(parseInline("[the *docs*](https://example.com/a_(b))"), [
    { type: "link", href: "https://example.com/a_(b)", children: [t("the "), { type: "em", children: [t("docs")] }] },
  ]);
  assert.deepEqual(parseInline('[mail](mailto:a@example.com "title")'), [
    { type: "link", href: "mailto:a@example.com", children: [t("mail")] },
  ]);
  for (const bad of [
    "[x](javascript:alert(1))",
    "[x](JaVaScRiPt:alert(1))",
    "[x](java\tscript:alert(1))",
    "[x](data:text/html;base64,PHNjcmlwdD4=)",
    "[x](vbscript:msgbox(1))",
    "[x](/relative)",
    "[x](//evil.example/)",
    "[x](file:///etc/passwd)",
  ]) {
    const out = parseInline(bad);
    assert.ok(
      out.every((n) => n.type === "text"),
      `${bad} -> ${JSON.stringify(out)}`,
    );
  }
});

test("autolinks in angle brackets and bare URLs; trailing punctuation is not part of them", () => {
  assert.deepEqual(parseInline("<https://example.com/x> and <bob@example.com>"), [
    { type: "link", href: "https://example.com/x", children: [t("https://example.com/x")] },
    t(" and "),
    { type: "link", href: "mailto:bob@example.com", children: [t("bob@example.com")] },
  ]);
  assert.deepEqual(parseInline("see https://example.com/a?b=1&c=2. ok"), [
    t("see "),
    { type: "link", href: "https://example.com/a?b=1&c=2", children: [t("https://example.com/a?b=1&c=2")] },
    t(". ok"),
  ]);
  assert.deepEqual(parseInline("(https://en.wikipedia.org/wiki/Foo_(bar))"), [
    t("("),
    {
      type: "link",
      href: "https://en.wikipedia.org/wiki/Foo_(bar)",
      children: [t("https://en.wikipedia.org/wiki/Foo_(bar)")],
    },
    t(")"),
  ]);
  assert.deepEqual(parseInline("<javascript:alert(1)>"), [t("<javascript:alert(1)>")]);
  assert.deepEqual(parseInline("javascript:alert(2)"), [t("javascript:alert(2)")]);
});

test("the link policy refuses every scheme but http, https and mailto, and hidden ones", () => {
  assert.equal(linkHref("https://example.com"), "https://example.com/");
  assert.equal(linkHref("HTTP://EXAMPLE.com/x"), "http://example.com/x");
  assert.equal(linkHref("mailto:a@b.example"), "mailto:a@b.example");
  for (const bad of [
    "javascript:alert(1)",
    " javascript:alert(1)",
    "jav&#x09;ascript:alert(1)",
    "java\u0000script:alert(1)",
    "\u0001javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "vbscript:x",
    "ftp://example.com",
    "/relative",
    "",
  ]) {
    assert.equal(linkHref(bad), null, bad);
  }
});

test("@mentions: usernames, @room and @here; not inside e-mail addresses; a trailing dot ends them", () => {
  assert.deepEqual(parseInline("hi @alice, @room and @Bob.Smith."), [
    t("hi "),
    { type: "mention", name: "alice" },
    t(", "),
    { type: "mention", name: "room" },
    t(" and "),
    { type: "mention", name: "Bob.Smith" },
    t("."),
  ]);
  assert.deepEqual(parseInline("mail bob@example.com"), [t("mail bob@example.com")]);
  assert.deepEqual(parseInline("`@alice`"), [{ type: "code", text: "@alice" }]);
});

test("deep nesting and long delimiter runs stay bounded", () => {
  const deep = ">".repeat(100) + " x";
  assert.ok(Array.isArray(parse(deep)));
  // Adversarial messages at the 4000-character limit each parse in well under a second.
  for (const text of [
    "*a ".repeat(1400),
    "~~a ".repeat(1000),
    "**a ".repeat(1000) + "b" + "**".repeat(1000),
    "[a](".repeat(1000),
    "_a_".repeat(1300),
    "` a ``".repeat(660),
    "[".repeat(4000),
  ]) {
    const started = Date.now();
    parse(text.slice(0, 4000));
    assert.ok(Date.now() - started < 1000, text.slice(0, 20));
  }
});

test("plainText gives what a message says, without its syntax", () => {
  assert.equal(plainText("**bold** and `code`\n> quoted [link](https://x.example)"), "bold and code quoted link");
});
