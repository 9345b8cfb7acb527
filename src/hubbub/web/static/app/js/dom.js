// Building DOM nodes without HTML strings: every piece of text goes in as a text node, so user
// data can never become markup.

/**
 * h("button", {class: "x", "aria-label": "Close", onclick: fn}, "text", childNode, [more])
 * Attributes: `class`, `text` (textContent), `dataset` (object), `on<event>` (listener),
 * booleans (true sets an empty attribute, false/null/undefined leaves it out), anything else
 * via setAttribute.
 */
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    if (name === "class") el.className = value;
    else if (name === "text") el.textContent = value;
    else if (name === "dataset") Object.assign(el.dataset, value);
    else if (name.startsWith("on") && typeof value === "function") {
      el.addEventListener(name.slice(2), value);
    } else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace all children of `el`. */
export function replaceChildren(el, ...children) {
  el.replaceChildren();
  append(el, children);
}

export const $ = (id) => document.getElementById(id);
