// Files on their way to a room (#15): each is uploaded as soon as it is picked, dropped or
// pasted, with its progress, and can be cancelled, retried or removed. The composer sends the
// message with the ids of the finished ones (through the outbox, like any message).
//
// Uploads go by XMLHttpRequest, not fetch: only XMLHttpRequest reports upload progress. The body
// is the file itself (`?filename=` names it), so nothing is copied into a multipart form.

import { API, ApiError, NetworkError, seg } from "./api.js";

/**
 * What the server answers an upload with (an Attachment plus its sha256).
 * @typedef {object} Upload
 * @property {string} id
 * @property {string} filename
 * @property {string} content_type
 * @property {number} size
 * @property {number | null} [width]
 * @property {number | null} [height]
 * @property {string} url
 * @property {string | null} [thumbnail_url]
 */

/**
 * One file in the composer's tray.
 * @typedef {object} UploadItem
 * @property {string} key  local, for the tray's rows
 * @property {string} roomId
 * @property {File} file
 * @property {"uploading" | "done" | "failed"} state
 * @property {number} loaded  bytes sent so far
 * @property {string} error  why it failed, in words
 * @property {Upload | null} upload  the server's answer, once done
 * @property {(() => void) | null} abort  cancels the request in flight
 */

/**
 * Why an upload failed, in words a person can act on.
 * @param {unknown} err
 * @param {number} [size]  the file's size, in bytes
 */
export function uploadFailure(err, size) {
  if (err instanceof ApiError) {
    if (err.code === "file_too_large") {
      return `Too large${size ? ` (${formatBytes(size)})` : ""}: the server does not take files this big`;
    }
    if (err.code === "quota_exceeded") return "Your storage is full: delete some of your files first";
    if (err.code === "rate_limited" || err.status === 429) return "Too many uploads: wait a minute, then retry";
    if (err.code === "image_too_large") return "The image has too many pixels";
    if (err.code === "bad_image") return "Not an image the server can read";
    if (err.code === "muted") return "You are muted in this room";
    if (err.status >= 500) return `Server error (${err.status})`;
    return err.message;
  }
  if (err instanceof NetworkError) return "Could not reach the server";
  return "Upload failed";
}

/**
 * "1.2 MB", "340 KB", "12 bytes".
 * @param {number} n
 */
export function formatBytes(n) {
  if (n < 1000) return `${n} ${n === 1 ? "byte" : "bytes"}`;
  const units = ["KB", "MB", "GB", "TB"];
  let v = n;
  let i = -1;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i += 1;
  }
  return `${v < 10 ? v.toFixed(1) : Math.round(v)} ${units[i]}`;
}

/**
 * Send a file as a request's raw body, reporting progress. Resolves to the JSON answer; rejects
 * with ApiError (the server refused), NetworkError (no answer), or a DOMException "AbortError"
 * (cancelled).
 * @param {object} o
 * @param {string} o.method
 * @param {string} o.path  under /api/v1
 * @param {Blob} o.file
 * @param {string | null} o.token
 * @param {(loaded: number, total: number) => void} [o.onProgress]
 * @param {(abort: () => void) => void} [o.onStart]  gets the function that cancels it
 * @returns {Promise<any>}
 */
export function sendFile({ method, path, file, token, onProgress, onStart }) {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open(method, API + path);
    xhr.setRequestHeader("Accept", "application/json");
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    xhr.setRequestHeader("Content-Type", file.type || "application/octet-stream");
    xhr.responseType = "text";
    if (onProgress) xhr.upload.addEventListener("progress", (e) => onProgress(e.loaded, e.total || file.size));
    xhr.addEventListener("load", () => {
      /** @type {any} */
      let data = null;
      try {
        data = xhr.responseText ? JSON.parse(xhr.responseText) : null;
      } catch {
        data = null;
      }
      if (xhr.status >= 200 && xhr.status < 300) resolve(data);
      else {
        const code = data && typeof data.code === "string" ? data.code : "";
        reject(new ApiError(xhr.status, code, data && (data.detail || data.title)));
      }
    });
    xhr.addEventListener("error", () => reject(new NetworkError("network error")));
    xhr.addEventListener("timeout", () => reject(new NetworkError("timed out")));
    xhr.addEventListener("abort", () => reject(new DOMException("cancelled", "AbortError")));
    onStart?.(() => xhr.abort());
    xhr.send(file);
  });
}

/** @param {unknown} err */
const isAbort = (err) => err instanceof DOMException && err.name === "AbortError";

export class Uploads extends EventTarget {
  /**
   * @param {object} o
   * @param {() => string | null} o.token
   * @param {typeof sendFile} [o.send]  the request (a seam for unit tests)
   */
  constructor({ token, send = sendFile }) {
    super();
    this.token = token;
    this.send = send;
    /** @type {UploadItem[]} */
    this.items = [];
    this.made = 0;
  }

  /**
   * The files in a room's tray, in the order added.
   * @param {string} roomId
   */
  itemsIn(roomId) {
    return this.items.filter((x) => x.roomId === roomId);
  }

  /**
   * Start uploading files to a room.
   * @param {string} roomId
   * @param {Iterable<File>} files
   */
  add(roomId, files) {
    for (const file of files) {
      /** @type {UploadItem} */
      const item = {
        key: `u${++this.made}`,
        roomId,
        file,
        state: "uploading",
        loaded: 0,
        error: "",
        upload: null,
        abort: null,
      };
      this.items.push(item);
      this._start(item);
    }
    this._changed(roomId);
  }

  /** @param {UploadItem} item */
  async _start(item) {
    item.state = "uploading";
    item.loaded = 0;
    item.error = "";
    const name = item.file.name || "pasted-file";
    try {
      const upload = await this.send({
        method: "POST",
        path: `/rooms/${seg(item.roomId)}/uploads?filename=${encodeURIComponent(name)}`,
        file: item.file,
        token: this.token(),
        onStart: (abort) => (item.abort = abort),
        onProgress: (loaded) => {
          item.loaded = loaded;
          this._changed(item.roomId, "progress");
        },
      });
      if (!this.items.includes(item)) return; // removed meanwhile
      item.upload = upload;
      item.loaded = item.file.size;
      item.state = "done";
    } catch (err) {
      if (isAbort(err) || !this.items.includes(item)) return; // cancelled: already gone
      item.state = "failed";
      item.error = uploadFailure(err, item.file.size);
    } finally {
      item.abort = null;
    }
    this._changed(item.roomId);
  }

  /**
   * Upload a failed file again.
   * @param {string} key
   */
  retry(key) {
    const item = this.items.find((x) => x.key === key);
    if (!item || item.state !== "failed") return;
    this._start(item);
    this._changed(item.roomId);
  }

  /**
   * Cancel a file's upload (if in flight) and take it out of the tray.
   * @param {string} key
   */
  remove(key) {
    const item = this.items.find((x) => x.key === key);
    if (!item) return;
    this.items = this.items.filter((x) => x !== item);
    item.abort?.();
    this._changed(item.roomId);
  }

  /**
   * Whether the room's tray has files still uploading, or failed ones.
   * @param {string} roomId
   */
  status(roomId) {
    const items = this.itemsIn(roomId);
    return {
      any: items.length > 0,
      uploading: items.some((x) => x.state === "uploading"),
      failed: items.some((x) => x.state === "failed"),
    };
  }

  /**
   * The finished uploads of a room, taken out of the tray (they go with the message now).
   * @param {string} roomId
   * @returns {Upload[]}
   */
  take(roomId) {
    const done = this.items.filter((x) => x.roomId === roomId && x.state === "done");
    this.items = this.items.filter((x) => !done.includes(x));
    if (done.length) this._changed(roomId);
    return done.map((x) => /** @type {Upload} */ (x.upload));
  }

  /** Cancel everything (signing out). */
  forgetAll() {
    const rooms = new Set(this.items.map((x) => x.roomId));
    for (const x of this.items) x.abort?.();
    this.items = [];
    for (const roomId of rooms) this._changed(roomId);
  }

  /**
   * @param {string} roomId
   * @param {"change" | "progress"} [kind]  progress: only byte counts moved
   */
  _changed(roomId, kind = "change") {
    this.dispatchEvent(new CustomEvent(kind, { detail: { roomId } }));
  }
}
