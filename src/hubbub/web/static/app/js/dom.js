// Building DOM nodes without HTML strings: every piece of text goes in as a text node, so user
// data can never become markup.

/**
 * What h() and replaceChildren() take as children: nodes, text, lists of them; null, undefined
 * and false are skipped.
 * @typedef {Node | string | number | null | undefined | false} Leaf
 * @typedef {Leaf | Leaf[]} Child
 */

/**
 * @typedef {string | number | boolean | null | undefined | Record<string, string>
 *   | ((event: any) => void)} AttrValue
 */

/**
 * h("button", {class: "x", "aria-label": "Close", onclick: fn}, "text", childNode, [more])
 * Attributes: `class`, `text` (textContent), `dataset` (object), `on<event>` (listener),
 * booleans (true sets an empty attribute, false/null/undefined leaves it out), anything else
 * via setAttribute.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {...Child} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") el.className = String(value);
    else if (name === "text") el.textContent = String(value);
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

/**
 * @param {Node} el
 * @param {Child[]} children
 */
function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/**
 * Replace all children of `el`.
 * @param {Element} el
 * @param {...Child} children
 */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

/**
 * The element with this id, checked to be a `type` (HTMLElement unless given). The page always
 * has it, so a missing one is a bug: this throws at once instead of returning null.
 * @template {HTMLElement} [T=HTMLElement]
 * @param {string} id
 * @param {new () => T} [type]
 * @returns {T}
 */
export function $(id, type) {
  const el = document.getElementById(id);
  if (!(el instanceof (type || HTMLElement))) {
    throw new Error(`#${id} is not a ${(type || HTMLElement).name} on this page`);
  }
  return /** @type {T} */ (el);
}
