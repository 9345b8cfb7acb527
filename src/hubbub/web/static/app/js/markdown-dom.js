// Parsed Markdown (markdown.js) as DOM nodes, built with h() (dom.js): text goes in as text nodes
// (bidi controls as markers: bidi.js), links open in a new tab without a reference to this page,
// code blocks get a language label and a Copy button.

import { visibleText } from "./bidi.js";
import { h } from "./dom.js";
import { parse } from "./markdown.js";

/**
 * @typedef {import("./markdown.js").Block} Block
 * @typedef {import("./markdown.js").Inline} Inline
 */

/**
 * @typedef {object} RenderOptions
 * @property {(name: string) => "me" | "other" | null} [mention]  how to show an @mention:
 *   "me" (stronger), "other", or null for plain text
 */

/**
 * Message text as DOM nodes (a fragment of blocks). Text goes in as text nodes (bidi controls
 * as markers: bidi.js); links open in a new tab without a reference to this page.
 * @param {string} text
 * @param {RenderOptions} [options]
 * @returns {DocumentFragment}
 */
export function renderMarkdown(text, options = {}) {
  const frag = document.createDocumentFragment();
  for (const block of parse(text)) frag.append(renderBlock(block, options));
  return frag;
}

/**
 * @param {Block} block
 * @param {RenderOptions} o
 * @returns {Node}
 */
function renderBlock(block, o) {
  switch (block.type) {
    case "paragraph":
      return h("p", {}, renderInlines(block.children, o));
    case "codeblock":
      return codeBlock(block.text, block.lang);
    case "quote":
      return h("blockquote", {}, block.children.map((b) => renderBlock(b, o)));
    case "list":
      return h(
        block.ordered ? "ol" : "ul",
        { start: block.ordered && block.start !== 1 ? String(block.start) : null },
        block.items.map((item) => h("li", {}, item.map((b) => renderBlock(b, o)))),
      );
  }
}

/**
 * A fenced code block: monospace, its language if named, and a copy button.
 * @param {string} text
 * @param {string} lang
 */
function codeBlock(text, lang) {
  const copy = h(
    "button",
    {
      type: "button",
      class: "code-copy",
      "aria-label": "Copy code",
      title: "Copy code",
      onclick: () => {
        navigator.clipboard.writeText(text).then(
          () => {
            copy.textContent = "Copied";
            setTimeout(() => (copy.textContent = "Copy"), 1500);
          },
          () => {
            copy.textContent = "Copy failed";
          },
        );
      },
    },
    "Copy",
  );
  return h(
    "div",
    { class: "code-block" },
    h("div", { class: "code-head" }, lang ? h("span", { class: "code-lang" }, lang) : null, copy),
    h("pre", { dir: "ltr" }, h("code", {}, visibleText(text))),
  );
}

/**
 * @param {Inline[]} nodes
 * @param {RenderOptions} o
 * @returns {Node[]}
 */
function renderInlines(nodes, o) {
  return nodes.map((n) => renderInline(n, o));
}

/**
 * @param {Inline} n
 * @param {RenderOptions} o
 * @returns {Node}
 */
function renderInline(n, o) {
  switch (n.type) {
    case "text":
      return visibleText(n.text);
    case "em":
      return h("em", {}, renderInlines(n.children, o));
    case "strong":
      return h("strong", {}, renderInlines(n.children, o));
    case "del":
      return h("del", {}, renderInlines(n.children, o));
    case "code":
      return h("code", {}, visibleText(n.text));
    case "br":
      return document.createTextNode("\n"); // shown as a line break: messages are white-space: pre-wrap
    case "link":
      return h("a", { href: n.href, target: "_blank", rel: "noopener noreferrer" }, renderInlines(n.children, o));
    case "mention": {
      const how = o.mention ? o.mention(n.name) : null;
      if (!how) return visibleText(`@${n.name}`);
      return h("span", { class: how === "me" ? "mention mention-me" : "mention" }, visibleText(`@${n.name}`));
    }
  }
}
