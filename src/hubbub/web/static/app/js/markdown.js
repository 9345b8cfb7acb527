// Message text as Markdown: the safe subset of docs/api.md ("Formatting"), parsed here into a
// small tree that markdown-dom.js builds as DOM nodes. No string from a message ever becomes
// HTML: raw HTML is text, and only http, https and mailto links are made.
//
// The subset: *emphasis* / _emphasis_, **strong** / __strong__, ~~strikethrough~~, `code`,
// fenced code blocks (``` or ~~~, with an optional language label), [links](https://…),
// <https://…> and bare https://… autolinks, > block quotes, - / * / + and 1. lists, line
// breaks (every newline in a paragraph is one, as chat expects), backslash escapes, and
// @mentions. Everything else (headings, tables, images, HTML) shows as the text it is.

/**
 * @typedef {{type: "text", text: string}
 *   | {type: "em" | "strong" | "del", children: Inline[]}
 *   | {type: "code", text: string}
 *   | {type: "link", href: string, children: Inline[]}
 *   | {type: "mention", name: string}
 *   | {type: "br"}} Inline
 * @typedef {{type: "paragraph", children: Inline[]}
 *   | {type: "codeblock", lang: string, text: string}
 *   | {type: "quote", children: Block[]}
 *   | {type: "list", ordered: boolean, start: number, items: Block[][]}} Block
 */

const MAX_DEPTH = 16; // nested quotes, lists and emphasis beyond this are text
const FENCE = /^ {0,3}(`{3,}|~{3,})[ \t]*([^\s`]*)[^`]*$/;
const QUOTE = /^ {0,3}> ?(.*)$/;
const LIST_ITEM = /^( {0,3})([-*+]|(\d{1,9})[.)])([ \t]+|$)(.*)$/;
const BLANK = /^[ \t]*$/;
const PUNCT = /[!-/:-@[-`{-~]/;
const URL_START = /^https?:\/\//i;
const BARE_URL = /^https?:\/\/[^\s<>"]+/i;
const TRAILING = /[.,;:!?'")\]}*_~]+$/;
const MENTION = /^@([A-Za-z0-9_][A-Za-z0-9_.-]{0,31})/;
const EMAIL = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/;

/**
 * The link policy: an absolute http, https or mailto URL, normalised; anything else is null
 * (and the link shows as its text).
 * @param {string} candidate
 * @returns {string | null}
 */
export function linkHref(candidate) {
  const raw = candidate.trim();
  // Control characters and whitespace never belong in a link (they hide schemes: "java\tscript:").
  // eslint-disable-next-line no-control-regex
  if (!raw || /[\u0000-\u0020\u007f-\u009f]/.test(raw)) return null;
  try {
    const url = new URL(raw);
    if (url.protocol === "http:" || url.protocol === "https:") return url.href;
    if (url.protocol === "mailto:" && /^mailto:[^/]/i.test(raw)) return url.href;
  } catch {
    return null;
  }
  return null;
}

// -- blocks -------------------------------------------------------------------------------------

/**
 * Parse message text into blocks.
 * @param {string} text
 * @returns {Block[]}
 */
export function parse(text) {
  return parseBlocks(text.replace(/\r\n?/g, "\n").split("\n"), 0);
}

/**
 * @param {string[]} lines
 * @param {number} depth
 * @returns {Block[]}
 */
function parseBlocks(lines, depth) {
  /** @type {Block[]} */
  const out = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    if (BLANK.test(line)) {
      i++;
      continue;
    }
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const body = [];
      i++;
      while (i < lines.length) {
        const close = lines[i].trim();
        if (close.startsWith(marker[0].repeat(marker.length)) && /^(`+|~+)$/.test(close) && close[0] === marker[0]) {
          i++;
          break;
        }
        body.push(lines[i]);
        i++;
      }
      out.push({ type: "codeblock", lang: fence[2].slice(0, 32), text: body.join("\n") });
      continue;
    }
    if (depth < MAX_DEPTH && QUOTE.test(line)) {
      const inner = [];
      while (i < lines.length && QUOTE.test(lines[i])) {
        inner.push(/** @type {RegExpExecArray} */ (QUOTE.exec(lines[i]))[1]);
        i++;
      }
      out.push({ type: "quote", children: parseBlocks(inner, depth + 1) });
      continue;
    }
    const item = depth < MAX_DEPTH ? LIST_ITEM.exec(line) : null;
    if (item && item[5].trim() !== "") {
      const parsed = parseList(lines, i, depth);
      out.push(parsed.block);
      i = parsed.next;
      continue;
    }
    // A paragraph: lines up to a blank one or the start of another block.
    const para = [];
    while (i < lines.length && !BLANK.test(lines[i])) {
      if (para.length && (FENCE.test(lines[i]) || QUOTE.test(lines[i]) || startsItem(lines[i]))) break;
      para.push(lines[i]);
      i++;
    }
    out.push({ type: "paragraph", children: parseInline(para.join("\n"), depth) });
  }
  return out;
}

/** @param {string} line */
function startsItem(line) {
  const m = LIST_ITEM.exec(line);
  return !!m && m[5].trim() !== "";
}

/**
 * A list from line `start`: items of the same kind (bullet or ordered); lines indented under an
 * item (or following it without a blank line) belong to it.
 * @param {string[]} lines
 * @param {number} start
 * @param {number} depth
 * @returns {{block: Block, next: number}}
 */
function parseList(lines, start, depth) {
  const first = /** @type {RegExpExecArray} */ (LIST_ITEM.exec(lines[start]));
  const ordered = first[3] !== undefined;
  const baseIndent = first[1].length;
  /** @type {Block[][]} */
  const items = [];
  let i = start;
  while (i < lines.length) {
    const m = LIST_ITEM.exec(lines[i]);
    if (!m || m[1].length !== baseIndent || (m[3] !== undefined) !== ordered || m[5].trim() === "") break;
    const width = m[1].length + m[2].length + Math.max(1, m[4].length);
    const body = [m[5]];
    i++;
    while (i < lines.length) {
      const line = lines[i];
      if (BLANK.test(line)) {
        // A blank line continues the item only if indented content follows.
        const next = lines[i + 1];
        if (next !== undefined && indentOf(next) >= width) {
          body.push("");
          i++;
          continue;
        }
        break;
      }
      if (indentOf(line) >= width) {
        body.push(line.slice(width));
        i++;
        continue;
      }
      const sibling = LIST_ITEM.exec(line);
      if (sibling || FENCE.test(line) || QUOTE.test(line)) break;
      body.push(line); // a lazy continuation of the item's paragraph
      i++;
    }
    items.push(parseBlocks(body, depth + 1));
  }
  const start_ = ordered ? Math.min(Number(first[3]), 999999999) : 1;
  return { block: { type: "list", ordered, start: start_, items }, next: i };
}

/** @param {string} line */
function indentOf(line) {
  const m = /^[ \t]*/.exec(line);
  return m ? m[0].replace(/\t/g, "    ").length : 0;
}

// -- inlines ------------------------------------------------------------------------------------

/**
 * Parse a paragraph's text into inline nodes.
 * @param {string} src
 * @param {number} [depth]
 * @returns {Inline[]}
 */
export function parseInline(src, depth = 0) {
  /** @type {Inline[]} */
  const out = [];
  let buf = "";
  const flush = () => {
    if (buf) out.push({ type: "text", text: buf });
    buf = "";
  };
  /** @param {Inline} node */
  const push = (node) => {
    flush();
    out.push(node);
  };
  /** @type {Map<string, number>} delimiter -> the earliest start from which it has no closer */
  const noCloser = new Map();
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    const rest = src.slice(i);
    // Backslash escapes; a backslash before a newline is a line break.
    if (c === "\\" && i + 1 < src.length && (PUNCT.test(src[i + 1]) || src[i + 1] === "\n")) {
      if (src[i + 1] === "\n") push({ type: "br" });
      else buf += src[i + 1];
      i += 2;
      continue;
    }
    if (c === "\n") {
      buf = buf.replace(/ +$/, "");
      push({ type: "br" });
      i++;
      while (src[i] === " ") i++;
      continue;
    }
    if (c === "`") {
      const run = /^`+/.exec(rest)?.[0] || "`";
      const close = findCodeClose(src, i + run.length, run.length);
      if (close >= 0) {
        let code = src.slice(i + run.length, close).replace(/\n/g, " ");
        if (code.length > 2 && code.startsWith(" ") && code.endsWith(" ") && code.trim()) code = code.slice(1, -1);
        push({ type: "code", text: code });
        i = close + run.length;
      } else {
        buf += run;
        i += run.length;
      }
      continue;
    }
    if (c === "<") {
      const auto = /^<([A-Za-z][A-Za-z0-9+.-]{1,31}:[^\s<>]*|[^\s<>@]+@[^\s<>@]+)>/.exec(rest);
      if (auto) {
        const target = auto[1];
        const href = EMAIL.test(target) ? linkHref(`mailto:${target}`) : linkHref(target);
        if (href) {
          push({ type: "link", href, children: [{ type: "text", text: target }] });
          i += auto[0].length;
          continue;
        }
      }
    }
    if (c === "[" && depth < MAX_DEPTH) {
      const link = parseLink(src, i, depth);
      if (link) {
        if (link.href) push({ type: "link", href: link.href, children: link.children });
        else buf += src.slice(i, link.end); // a link with a refused URL stays as written
        i = link.end;
        continue;
      }
    }
    if ((c === "h" || c === "H") && URL_START.test(rest) && !/[A-Za-z0-9]$/.test(buf)) {
      const m = BARE_URL.exec(rest);
      if (m) {
        let raw = m[0];
        const trail = TRAILING.exec(raw);
        if (trail) raw = raw.slice(0, -trail[0].length);
        // Keep a closing parenthesis that pairs with one inside the URL (Wikipedia links).
        while (src[i + raw.length] === ")" && count(raw, "(") > count(raw, ")")) raw += ")";
        const href = linkHref(raw);
        if (href) {
          push({ type: "link", href, children: [{ type: "text", text: raw }] });
          i += raw.length;
          continue;
        }
      }
    }
    if (c === "@" && !/[A-Za-z0-9_.+-]$/.test(buf)) {
      const m = MENTION.exec(rest);
      if (m) {
        const name = m[1].replace(/[.-]+$/, "");
        push({ type: "mention", name });
        i += name.length + 1;
        continue;
      }
    }
    if ((c === "*" || c === "_" || c === "~") && depth < MAX_DEPTH) {
      const span = parseEmphasis(src, i, buf, depth, noCloser);
      if (span) {
        push(span.node);
        i = span.end;
        continue;
      }
      // An unmatched run of delimiters is text as a whole (so "**" does not open "*").
      const run = new RegExp(`^\\${c}+`).exec(rest)?.[0] || c;
      buf += run;
      i += run.length;
      continue;
    }
    buf += c;
    i++;
  }
  flush();
  return out;
}

/**
 * @param {string} s
 * @param {string} ch
 */
function count(s, ch) {
  let n = 0;
  for (const x of s) if (x === ch) n++;
  return n;
}

/**
 * The index of the backtick run of exactly `n` closing a code span opened before `from`, or -1.
 * @param {string} src
 * @param {number} from
 * @param {number} n
 */
function findCodeClose(src, from, n) {
  let j = from;
  while (j < src.length) {
    const k = src.indexOf("`", j);
    if (k < 0) return -1;
    let e = k;
    while (src[e] === "`") e++;
    if (e - k === n) return k;
    j = e;
  }
  return -1;
}

/**
 * `[text](url)` at `i`: its end, and its href (null when the URL is refused by the policy).
 * Null when it is not link syntax at all.
 * @param {string} src
 * @param {number} i
 * @param {number} depth
 * @returns {{end: number, href: string | null, children: Inline[]} | null}
 */
function parseLink(src, i, depth) {
  // The label: up to the matching "]" (brackets may nest; code spans and escapes are skipped).
  let level = 0;
  let j = i;
  for (; j < src.length; j++) {
    const ch = src[j];
    if (ch === "\\") {
      j++;
      continue;
    }
    if (ch === "[") level++;
    else if (ch === "]" && --level === 0) break;
  }
  if (j >= src.length || src[j + 1] !== "(") return null;
  const label = src.slice(i + 1, j);
  // The destination: <…> or a run without spaces with balanced parentheses; an optional title.
  let k = j + 2;
  while (src[k] === " ") k++;
  let dest = "";
  if (src[k] === "<") {
    const close = src.indexOf(">", k);
    if (close < 0) return null;
    dest = src.slice(k + 1, close);
    k = close + 1;
  } else {
    let parens = 0;
    const begin = k;
    for (; k < src.length; k++) {
      const ch = src[k];
      if (ch === "\\" && k + 1 < src.length) {
        k++;
        continue;
      }
      if (/\s/.test(ch)) break;
      if (ch === "(") parens++;
      else if (ch === ")") {
        if (parens === 0) break;
        parens--;
      }
    }
    dest = src.slice(begin, k).replace(/\\([!-/:-@[-`{-~])/g, "$1");
  }
  while (src[k] === " ") k++;
  const title = /^("[^"]*"|'[^']*')\s*/.exec(src.slice(k));
  if (title) k += title[0].length;
  if (src[k] !== ")") return null;
  const children = parseInline(label, depth + 1).filter((n) => n.type !== "br");
  // No links inside links: an inner link keeps its text only.
  const flat = children.flatMap((n) => (n.type === "link" ? n.children : [n]));
  return { end: k + 1, href: linkHref(dest), children: flat };
}

/**
 * Emphasis, strong or strikethrough opening at `i`: the closing delimiter is the next run of
 * the same kind that can close it (CommonMark's flanking rules, simplified).
 * @param {string} src
 * @param {number} i
 * @param {string} before  the text just before `i` on this line
 * @param {number} depth
 * @param {Map<string, number>} noCloser  where a search already failed: a later opener of the
 *   same delimiter would search a subset of the same candidates (this keeps text with many
 *   unmatched delimiters linear instead of quadratic)
 * @returns {{node: Inline, end: number} | null}
 */
function parseEmphasis(src, i, before, depth, noCloser) {
  const c = src[i];
  let run = 0;
  while (src[i + run] === c) run++;
  const after = src[i + run] || "";
  if (!after || /\s/.test(after)) return null;
  const prev = before.slice(-1);
  if (c === "_" && /[A-Za-z0-9]/.test(prev)) return null; // snake_case_words stay text
  /** @type {[string, "em" | "strong" | "del"][]} */
  const kinds =
    c === "~" ? (run >= 2 ? [["~~", "del"]] : []) : run >= 2 ? [[c + c, "strong"], [c, "em"]] : [[c, "em"]];
  for (const [delim, type] of kinds) {
    const from = i + delim.length;
    if (from >= (noCloser.get(delim) ?? Infinity)) continue;
    let j = from;
    let ticks = 0; // backticks between `from` and the candidate: odd means inside a code span
    let counted = from;
    while (j < src.length) {
      let k = src.indexOf(delim, j);
      if (k < 0) break;
      // "**a *b***": a strong closes at the end of a longer run, leaving its start to the em.
      if (delim.length === 2) while (src[k + 2] === c) k++;
      ticks += count(src.slice(counted, k), "`");
      counted = k;
      const inner = src.slice(from, k);
      const prevCh = src[k - 1];
      const nextCh = src[k + delim.length] || "";
      const code = ticks % 2 === 1;
      const okClose =
        k > from &&
        !/\s/.test(prevCh) &&
        !code &&
        !(c === "_" && /[A-Za-z0-9]/.test(nextCh)) &&
        // "*a **b** c*": a single delimiter does not close on half of a double one
        !(delim.length === 1 && (src[k + 1] === c || src[k - 1] === c));
      if (okClose) {
        return { node: { type, children: parseInline(inner, depth + 1) }, end: k + delim.length };
      }
      j = k + delim.length;
    }
    noCloser.set(delim, Math.min(from, noCloser.get(delim) ?? Infinity));
  }
  return null;
}

/**
 * The text a message shows, without its syntax (for one-line snippets).
 * @param {string} text
 */
export function plainText(text) {
  /** @param {Inline[]} nodes @returns {string} */
  const inl = (nodes) =>
    nodes
      .map((n) =>
        n.type === "text" || n.type === "code"
          ? n.text
          : n.type === "br"
            ? " "
            : n.type === "mention"
              ? `@${n.name}`
              : inl(n.children),
      )
      .join("");
  /** @param {Block[]} blocks @returns {string} */
  const blk = (blocks) =>
    blocks
      .map((b) =>
        b.type === "paragraph" ? inl(b.children) : b.type === "codeblock" ? b.text : b.type === "quote" ? blk(b.children) : b.items.map(blk).join(" "),
      )
      .join(" ");
  return blk(parse(text));
}
