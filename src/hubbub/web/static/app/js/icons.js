// Icons from Lucide (lucide-static 1.87.0, https://lucide.dev), ISC licence; some derive from
// Feather (MIT). Both licences are in vendor/lucide/LICENSE. Each icon is its SVG's child
// elements, copied unchanged from lucide-static/icons/<name>.svg; to add one, copy its
// elements the same way. They are drawn as inline SVG (stroke: currentColor), so they need no
// emoji font and follow the text colour.

const SVG = "http://www.w3.org/2000/svg";

/** @type {Record<string, [string, Record<string, string>][]>} */
const ICONS = {
  "arrow-down": [["path", {"d": "M12 5v14"}], ["path", {"d": "m19 12-7 7-7-7"}]],
  "corner-down-right": [["path", {"d": "m15 10 5 5-5 5"}], ["path", {"d": "M4 4v7a4 4 0 0 0 4 4h12"}]],
  "hash": [["line", {"x1": "4", "x2": "20", "y1": "9", "y2": "9"}], ["line", {"x1": "4", "x2": "20", "y1": "15", "y2": "15"}], ["line", {"x1": "10", "x2": "8", "y1": "3", "y2": "21"}], ["line", {"x1": "16", "x2": "14", "y1": "3", "y2": "21"}]],
  "lock": [["rect", {"width": "18", "height": "11", "x": "3", "y": "11", "rx": "2", "ry": "2"}], ["path", {"d": "M7 11V7a5 5 0 0 1 10 0v4"}]],
  "menu": [["path", {"d": "M4 5h16"}], ["path", {"d": "M4 12h16"}], ["path", {"d": "M4 19h16"}]],
  "plus": [["path", {"d": "M5 12h14"}], ["path", {"d": "M12 5v14"}]],
  "refresh-cw": [["path", {"d": "M3 12a9 9 0 0 1 9-9 9.75 9.75 0 0 1 6.74 2.74L21 8"}], ["path", {"d": "M21 3v5h-5"}], ["path", {"d": "M21 12a9 9 0 0 1-9 9 9.75 9.75 0 0 1-6.74-2.74L3 16"}], ["path", {"d": "M8 16H3v5"}]],
  "search": [["path", {"d": "m21 21-4.34-4.34"}], ["circle", {"cx": "11", "cy": "11", "r": "8"}]],
  "smile-plus": [["path", {"d": "M13.267 2.08a10 10 0 1 0 8.653 8.653"}], ["path", {"d": "M15 10V9"}], ["path", {"d": "M16 5h6"}], ["path", {"d": "M16.472 15a6 6 0 0 1-8.943 0"}], ["path", {"d": "M19 2v6"}], ["path", {"d": "M9 10V9"}]],
  "x": [["path", {"d": "M18 6 6 18"}], ["path", {"d": "m6 6 12 12"}]],
};

/**
 * An icon, hidden from assistive technology (the control it is in carries the name).
 * @param {string} name  a key of ICONS
 * @returns {SVGSVGElement}
 */
export function icon(name) {
  const svg = /** @type {SVGSVGElement} */ (document.createElementNS(SVG, "svg"));
  /** @type {Record<string, string>} */
  const attrs = {
    class: `icon icon-${name}`,
    viewBox: "0 0 24 24",
    fill: "none",
    stroke: "currentColor",
    "stroke-width": "2",
    "stroke-linecap": "round",
    "stroke-linejoin": "round",
    "aria-hidden": "true",
    focusable: "false",
  };
  for (const [k, v] of Object.entries(attrs)) svg.setAttribute(k, v);
  for (const [tag, a] of ICONS[name] || []) {
    const el = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(a)) el.setAttribute(k, v);
    svg.append(el);
  }
  return svg;
}

/**
 * Put each `[data-icon]` element's icon in it (the page's static buttons), before any text.
 * @param {ParentNode} [root]
 */
export function fillIcons(root = document) {
  for (const el of root.querySelectorAll("[data-icon]")) {
    const name = /** @type {HTMLElement} */ (el).dataset.icon || "";
    if (!el.querySelector("svg.icon")) el.prepend(icon(name));
  }
}
