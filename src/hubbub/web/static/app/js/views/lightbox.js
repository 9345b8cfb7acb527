// The lightbox (#15): an image at full size in a modal dialog. Escape or the close button
// closes it (the dialog's own behaviour), a click on the backdrop too, and focus goes back to
// what opened it.

import { h } from "../dom.js";
import { withoutBidiControls } from "../bidi.js";

/** @type {HTMLDialogElement | null} made on first use */
let dialog = null;
/** @type {HTMLElement | null} */
let opener = null;

function make() {
  const d = h("dialog", { id: "lightbox", class: "lightbox", "aria-labelledby": "lightbox-title" });
  d.addEventListener("close", () => {
    d.replaceChildren();
    const back = opener;
    opener = null;
    if (back && back.isConnected) back.focus();
  });
  // A click on the backdrop (the dialog itself, outside its content) closes it.
  d.addEventListener("click", (e) => {
    if (e.target === d) d.close();
  });
  document.body.append(d);
  return d;
}

/**
 * Show an image in the lightbox.
 * @param {import("../shapes.js").Attachment} a
 * @param {HTMLElement} from  what opened it (focus returns there)
 * @param {() => Promise<import("../shapes.js").Attachment | null>} [fresh]  the attachment with
 *   fresh links, for an image that did not load (its link may have expired); null: none
 */
export function openLightbox(a, from, fresh) {
  dialog ??= make();
  opener = from;
  const name = withoutBidiControls(a.filename);
  const img = h("img", {
    class: "lightbox-image",
    src: a.url,
    alt: name,
    width: a.width || null,
    height: a.height || null,
  });
  if (a.width && a.height) img.style.aspectRatio = `${a.width} / ${a.height}`;
  if (fresh) {
    img.addEventListener(
      "error",
      async () => {
        const again = await fresh();
        if (again && img.isConnected) img.src = again.url;
      },
      { once: true },
    );
  }
  const close = h("button", { type: "button", class: "icon-button lightbox-close", "aria-label": "Close image" }, "×");
  close.addEventListener("click", () => dialog?.close());
  dialog.replaceChildren(
    h(
      "div",
      { class: "lightbox-head" },
      h("h2", { id: "lightbox-title", class: "lightbox-title" }, name),
      h("a", { class: "button small", href: a.url, download: name }, "Download"),
      close,
    ),
    h("div", { class: "lightbox-body" }, img),
  );
  dialog.showModal();
  close.focus();
}
