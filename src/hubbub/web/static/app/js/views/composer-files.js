// The composer's files (#15): the Attach button, files dropped on the room or pasted into the
// composer, and the tray above it where each file shows its upload's progress (Cancel), why it
// failed (Retry, Remove), or that it is ready. The composer sends the message with the ready
// ones; pressed while files are still uploading, Send waits for them.

import { $, h, replaceChildren } from "../dom.js";
import { withoutBidiControls } from "../bidi.js";
import { formatBytes, Uploads } from "../uploads.js";

export const MAX_ATTACHMENTS = 10; // the server's limit per message

/**
 * @typedef {import("../uploads.js").UploadItem} UploadItem
 */

/**
 * The parts of a composer that hold its files: the room's main composer (the default) or the
 * thread panel's, which builds its own (`filesParts`).
 * @typedef {object} FilesParts
 * @property {HTMLElement} tray  the list of files to send
 * @property {HTMLElement} note  why a send waits or a file was left out
 * @property {HTMLButtonElement} attach
 * @property {HTMLInputElement} picker  the hidden file input
 * @property {HTMLElement} dropZone  files dropped here are attached
 */

/** @returns {FilesParts} the room's main composer's */
function mainParts() {
  return {
    tray: $("composer-uploads"),
    note: $("composer-uploads-note"),
    attach: $("composer-attach", HTMLButtonElement),
    picker: $("composer-file", HTMLInputElement),
    dropZone: $("room"),
  };
}

/**
 * New parts for another composer (ids from `prefix`), to place in its form.
 * @param {string} prefix
 * @returns {FilesParts}
 */
export function filesParts(prefix) {
  return {
    tray: h("ul", { id: `${prefix}-uploads`, class: "upload-tray", "aria-label": "Files to send", hidden: true }),
    note: h("p", { id: `${prefix}-uploads-note`, class: "composer-uploads-note", role: "status" }),
    attach: /** @type {HTMLButtonElement} */ (
      h("button", { type: "button", id: `${prefix}-attach`, class: "ghost attach-button", title: "Attach files (or drop or paste them)", "aria-label": "Attach files" }, "Attach")
    ),
    picker: /** @type {HTMLInputElement} */ (
      h("input", { type: "file", id: `${prefix}-file`, multiple: true, hidden: true, tabindex: "-1", "aria-label": "Files to attach" })
    ),
    dropZone: h("div"), // replaced by the caller with the element that takes drops
  };
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {HTMLTextAreaElement} o.input  the composer's text box (pastes land there)
 * @param {() => string | null} o.roomId  the room the composer writes to
 * @param {FilesParts} [o.parts]  default: the room's main composer
 */
export function attachComposerFiles({ client, input, roomId, parts = mainParts() }) {
  const uploads = new Uploads({ token: () => client.session.token });
  const { tray, note, attach, picker } = parts;
  const room = parts.dropZone;
  /** @type {{roomId: string, go: () => void} | null} a send waiting for uploads */
  let waiting = null;

  /** @param {Iterable<File>} files */
  function add(files) {
    const id = roomId();
    if (!id || attach.disabled) return;
    const list = [...files];
    if (!list.length) return;
    const held = uploads.itemsIn(id).length;
    if (held + list.length > MAX_ATTACHMENTS) {
      note.textContent = `A message takes at most ${MAX_ATTACHMENTS} files: send these first.`;
      list.splice(Math.max(0, MAX_ATTACHMENTS - held));
    } else {
      note.textContent = "";
    }
    uploads.add(id, list);
  }

  /** @param {UploadItem} item */
  function row(item) {
    const name = withoutBidiControls(item.file.name || "pasted-file");
    const total = item.file.size;
    const percent = total ? Math.floor((100 * item.loaded) / total) : 0;
    const status =
      item.state === "uploading"
        ? `Uploading… ${percent}%`
        : item.state === "failed"
          ? `Failed: ${item.error}`
          : "Ready to send";
    const thumb = item.state === "done" && item.upload && item.upload.thumbnail_url
      ? h("img", { class: "upload-thumb", src: item.upload.thumbnail_url, alt: "", width: 40, height: 40 })
      : h("span", { class: "upload-thumb file-kind", "aria-hidden": "true" }, (name.split(".").pop() || "").slice(0, 4).toUpperCase());
    /**
     * @param {string} label
     * @param {string} what  the action, for screen readers
     * @param {() => void} fn
     */
    const button = (label, what, fn) =>
      h("button", { type: "button", class: "link-button", "aria-label": `${what} ${name}`, dataset: { fk: `${item.key}:${label}` }, onclick: fn }, label);
    return h(
      "li",
      { class: `upload ${item.state}`, dataset: { key: item.key } },
      thumb,
      h(
        "span",
        { class: "upload-info" },
        h("bdi", { class: "file-name", title: name }, name),
        h("span", { class: "file-meta" }, formatBytes(total)),
        item.state === "uploading"
          ? h("progress", { max: 100, value: percent, "aria-label": `Uploading ${name}` })
          : null,
        h("span", { class: "upload-status", role: item.state === "failed" ? "alert" : null }, status),
      ),
      h(
        "span",
        { class: "upload-actions" },
        item.state === "uploading" ? button("Cancel", "Cancel uploading", () => uploads.remove(item.key)) : null,
        item.state === "failed" ? button("Retry", "Retry uploading", () => uploads.retry(item.key)) : null,
        item.state !== "uploading" ? button("Remove", "Remove", () => uploads.remove(item.key)) : null,
      ),
    );
  }

  function render() {
    const id = roomId();
    const items = id ? uploads.itemsIn(id) : [];
    // Keep focus on the tray's buttons across the rebuild (by what they do to which file).
    const focusKey = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.fk;
    const hadFocus = tray.contains(document.activeElement);
    replaceChildren(tray, items.map(row));
    tray.hidden = !items.length;
    if (hadFocus) {
      const again = focusKey && tray.querySelector(`[data-fk="${CSS.escape(focusKey)}"]`);
      /** @type {HTMLElement} */ (again || input).focus();
    }
  }

  /** Only the numbers moved: update them in place (a rebuild per progress event is wasteful). */
  function renderProgress() {
    const id = roomId();
    if (!id) return;
    for (const item of uploads.itemsIn(id)) {
      const li = tray.querySelector(`li[data-key="${item.key}"]`);
      if (!li || item.state !== "uploading") continue;
      const percent = item.file.size ? Math.floor((100 * item.loaded) / item.file.size) : 0;
      const bar = li.querySelector("progress");
      if (bar) bar.value = percent;
      const status = li.querySelector(".upload-status");
      if (status) status.textContent = `Uploading… ${percent}%`;
    }
  }

  /** A send was waiting: go once every upload has finished, or say why not. */
  function settle() {
    if (!waiting) return;
    const s = uploads.status(waiting.roomId);
    if (s.uploading) return;
    const { go, roomId: id } = waiting;
    waiting = null;
    if (id !== roomId()) return;
    if (s.failed) note.textContent = "Not sent: an upload failed. Retry or remove it, then send.";
    else {
      note.textContent = "";
      go();
    }
  }

  uploads.addEventListener("change", (e) => {
    if (/** @type {CustomEvent<{roomId: string}>} */ (e).detail.roomId === roomId()) render();
    settle();
  });
  uploads.addEventListener("progress", (e) => {
    if (/** @type {CustomEvent<{roomId: string}>} */ (e).detail.roomId === roomId()) renderProgress();
  });

  // Files uploading, or uploaded but not sent, are lost with the page (unlike messages, they
  // are not kept in the browser): ask before leaving.
  window.addEventListener("beforeunload", (e) => {
    if (uploads.items.length) e.preventDefault();
  });

  attach.addEventListener("click", () => picker.click());
  picker.addEventListener("change", () => {
    if (picker.files) add(picker.files);
    picker.value = "";
    input.focus();
  });
  // Pasted files (a screenshot, an image copied from a page): uploaded; pasted text is text.
  input.addEventListener("paste", (e) => {
    const files = e.clipboardData ? [...e.clipboardData.files] : [];
    if (!files.length) return;
    e.preventDefault();
    add(files);
  });
  // Files dragged over the room: it shows where they go; dropped, they are uploaded.
  /** @param {DragEvent} e */
  const carriesFiles = (e) => !!e.dataTransfer && [...e.dataTransfer.types].includes("Files");
  let depth = 0;
  room.addEventListener("dragenter", (e) => {
    if (!carriesFiles(e) || attach.disabled) return;
    e.preventDefault();
    depth += 1;
    room.classList.add("dropping");
  });
  room.addEventListener("dragover", (e) => {
    if (!carriesFiles(e) || attach.disabled) return;
    e.preventDefault();
    if (e.dataTransfer) e.dataTransfer.dropEffect = "copy";
  });
  room.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) room.classList.remove("dropping");
  });
  room.addEventListener("drop", (e) => {
    depth = 0;
    room.classList.remove("dropping");
    if (!carriesFiles(e) || !e.dataTransfer) return;
    e.preventDefault();
    add(e.dataTransfer.files);
  });

  return {
    /**
     * The composer points at another room (each room keeps its own tray).
     * @param {boolean} enabled  I may write there
     */
    setRoom(enabled) {
      waiting = null;
      note.textContent = "";
      attach.disabled = !enabled;
      render();
    },
    /** @param {boolean} enabled */
    setEnabled(enabled) {
      attach.disabled = !enabled;
    },
    /**
     * Whether the room's tray has files (a message may then have no text).
     * @param {string} id
     */
    has(id) {
      return uploads.status(id).any;
    },
    /**
     * Whether a send must wait: files are still uploading (it runs `go` once they are done) or
     * one failed (it says so).
     * @param {string} id
     * @param {() => void} go
     */
    hold(id, go) {
      const s = uploads.status(id);
      if (s.uploading) {
        waiting = { roomId: id, go };
        note.textContent = "Sends when the uploads finish…";
        return true;
      }
      if (s.failed) {
        note.textContent = "An upload failed: retry or remove it, then send.";
        return true;
      }
      return false;
    },
    /**
     * The room's finished uploads, out of the tray: they go with the message.
     * @param {string} id
     */
    take(id) {
      note.textContent = "";
      return uploads.take(id);
    },
    uploads,
  };
}
