// A message's files (#15): images as thumbnails that open the lightbox, everything else as a
// card with its name, type, size and a download link.
//
// Thumbnails carry the image's width and height (and its aspect ratio), so their space is
// kept before they load and the timeline does not jump. Their links are signed and expire
// (1 h by default): when one fails to load, the message is fetched again for fresh links, at
// most once a minute per message; if that does not help, the image says it is unavailable.

import { withoutBidiControls } from "../bidi.js";
import { h } from "../dom.js";
import { formatBytes } from "../uploads.js";
import { openLightbox } from "./lightbox.js";

/**
 * @typedef {import("../shapes.js").Attachment} Attachment
 * @typedef {import("../shapes.js").Message} Message
 */

const THUMB_MAX = 320; // px, the longer side as shown (thumbnails are at most 400)
const REFRESH_EVERY_MS = 60_000;

/** @type {Map<string, number>} message id -> when its links were last fetched again */
const refreshed = new Map();

/**
 * Fetch the message again for fresh signed links (a changed link rebuilds its row). Resolves to
 * the attachment as now held; null when that was done a moment ago (the link is not the
 * problem) or the message is gone.
 * @param {import("../client.js").Client} client
 * @param {Message} m
 * @param {string} id  the attachment's
 * @returns {Promise<Attachment | null>}
 */
async function freshLinks(client, m, id) {
  const last = refreshed.get(m.id) || 0;
  if (Date.now() - last < REFRESH_EVERY_MS) return null;
  refreshed.set(m.id, Date.now());
  try {
    await client.refreshMessage(m.id);
  } catch {
    return null;
  }
  const held = client.store.findMessage(m.id);
  return (held && (held.attachments || []).find((a) => a.id === id)) || null;
}

/** @param {Attachment} a */
const isImage = (a) => !!a.thumbnail_url && a.content_type.startsWith("image/");

/**
 * The size an image is shown at: within THUMB_MAX, never larger than it is.
 * @param {Attachment} a
 */
function shownSize(a) {
  const w = a.width || THUMB_MAX;
  const hgt = a.height || THUMB_MAX;
  const scale = Math.min(1, THUMB_MAX / Math.max(w, hgt));
  return { width: Math.max(1, Math.round(w * scale)), height: Math.max(1, Math.round(hgt * scale)) };
}

/**
 * "PDF", "ZIP", "TXT": what a file card shows in its badge.
 * @param {Attachment} a
 */
function kindLabel(a) {
  const ext = a.filename.includes(".") ? a.filename.split(".").pop() || "" : "";
  if (ext && ext.length <= 5) return ext.toUpperCase();
  return (a.content_type.split("/")[1] || "file").slice(0, 5).toUpperCase();
}

/**
 * @param {import("../client.js").Client} client
 * @param {Message} m
 * @param {Attachment} a
 */
function imageTile(client, m, a) {
  const name = withoutBidiControls(a.filename);
  const size = shownSize(a);
  const img = h("img", {
    src: a.thumbnail_url || a.url,
    alt: name,
    width: size.width,
    height: size.height,
    loading: "lazy",
    decoding: "async",
  });
  img.style.aspectRatio = `${size.width} / ${size.height}`;
  const button = h(
    "button",
    {
      type: "button",
      class: "attachment-image",
      "aria-label": `Open image ${name}`,
      dataset: { fk: `${m.seq}:file:${a.id}` },
      onclick: () => openLightbox(a, button, () => freshLinks(client, m, a.id)),
    },
    img,
  );
  img.addEventListener("error", async () => {
    const fresh = await freshLinks(client, m, a.id);
    // The row is rebuilt when the link changed; this image is kept when it did not (it
    // failed for another reason, or the server still signs the same link): try it once more.
    if (fresh && img.isConnected) img.src = fresh.thumbnail_url || fresh.url;
    else if (img.isConnected) {
      button.classList.add("broken");
      button.title = "This image could not be loaded";
    }
  });
  return button;
}

/**
 * @param {Message} m
 * @param {Attachment} a
 */
function fileCard(m, a) {
  const name = withoutBidiControls(a.filename);
  return h(
    "div",
    { class: "file-card" },
    h("span", { class: "file-kind", "aria-hidden": "true" }, kindLabel(a)),
    h(
      "span",
      { class: "file-info" },
      h("bdi", { class: "file-name", title: name }, name),
      h("span", { class: "file-meta" }, `${a.content_type} · ${formatBytes(a.size)}`),
    ),
    h(
      "a",
      {
        class: "file-download",
        href: a.url,
        download: name,
        "aria-label": `Download ${name} (${formatBytes(a.size)})`,
        dataset: { fk: `${m.seq}:file:${a.id}` },
      },
      "Download",
    ),
  );
}

/**
 * A message's files, or null when it has none.
 * @param {import("../client.js").Client} client
 * @param {Message} m
 */
export function attachmentList(client, m) {
  const files = m.attachments || [];
  if (m.deleted || !files.length) return null;
  const images = files.filter(isImage);
  const others = files.filter((a) => !isImage(a));
  return h(
    "div",
    { class: "attachments" },
    images.length ? h("div", { class: "attachment-images" }, images.map((a) => imageTile(client, m, a))) : null,
    others.map((a) => fileCard(m, a)),
  );
}

/**
 * What of the files a row shows, for the timeline's change signature (fresh links rebuild it).
 * @param {Message} m
 */
export function attachmentsSignature(m) {
  return (m.attachments || []).map((a) => [a.id, a.url, a.thumbnail_url]);
}

/**
 * The files of a message not yet sent, as names (the pending row).
 * @param {import("../outbox.js").PendingFile[]} files
 */
export function pendingFiles(files) {
  if (!files.length) return null;
  return h(
    "ul",
    { class: "pending-files" },
    files.map((f) => h("li", { class: "file-card small" }, h("bdi", { class: "file-name" }, withoutBidiControls(f.filename)), h("span", { class: "file-meta" }, formatBytes(f.size)))),
  );
}
