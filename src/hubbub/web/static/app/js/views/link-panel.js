// A link to hand to someone (a password reset, an invite; a webhook's URL or a bot's key, #19): shown in full in a read-only field,
// with a button that copies it. Where the clipboard is refused, the link is selected instead,
// ready for Ctrl+C.

import { h } from "../dom.js";

let panels = 0;

/**
 * Copy `text`; resolves to true if the clipboard took it.
 * @param {string} text
 */
export async function copyText(text) {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * @param {{title: string, url: string, note: string, copyLabel?: string, secret?: boolean}} o
 *   title: what the link is (a password reset link for whom); note: what it does, and until
 *   when; copyLabel: the button's label ("Copy link"); secret: shown once (a webhook's URL, a
 *   bot's key, #19), so the note stands out
 */
export function linkPanel({ title, url, note, copyLabel = "Copy link", secret = false }) {
  const id = `link-${++panels}`;
  const status = h("p", { class: "small", role: "status" });
  const field = h("input", {
    id,
    class: "grow",
    readonly: true,
    value: url,
    spellcheck: "false",
    "aria-labelledby": `${id}-title`,
  });
  return h(
    "div",
    { class: "link-panel", role: "group", "aria-labelledby": `${id}-title` },
    h("strong", { id: `${id}-title` }, title),
    h(
      "div",
      { class: "row" },
      field,
      h(
        "button",
        {
          type: "button",
          class: "primary small",
          onclick: async () => {
            if (await copyText(url)) {
              status.textContent = "Copied to the clipboard.";
            } else {
              field.select();
              field.focus();
              status.textContent = "Selected: press Ctrl+C (⌘C on a Mac) to copy it.";
            }
          },
        },
        copyLabel,
      ),
    ),
    h("p", { class: secret ? "secret-note small" : "muted small" }, note),
    status,
  );
}
