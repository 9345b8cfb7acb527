// A picture setting (#15 my picture, #19 a room's): Choose opens the file picker and uploads the
// file with PUT, Remove sends DELETE, and both say what happened or why not. The two settings
// differ only in their path, what they do with the server's answer, and their words.

import { ApiError } from "../api.js";
import { $ } from "../dom.js";
import { sendFile, uploadFailure } from "../uploads.js";

/**
 * @template T
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {string} o.prefix  the ids of its elements: `${prefix}-choose`, -remove, -file, -error, -status
 * @param {() => string | null} o.path  the API path (PUT and DELETE), or null: nothing to set now
 * @param {(answer: T) => void} o.take  the server's answer (the User or Room)
 * @param {string} o.saved  what to say once a picture is set
 * @param {Record<string, string>} [o.refusals]  words for the server's error codes
 */
export function mountPictureControl({ client, prefix, path, take, saved, refusals = {} }) {
  const choose = $(`${prefix}-choose`, HTMLButtonElement);
  const remove = $(`${prefix}-remove`, HTMLButtonElement);
  const picker = $(`${prefix}-file`, HTMLInputElement);
  const error = $(`${prefix}-error`);
  const status = $(`${prefix}-status`);
  /** @type {Record<string, string>} */
  const words = {
    bad_image: "That is not a picture the server can read: use PNG, JPEG, GIF or WebP.",
    ...refusals,
  };

  /** @param {unknown} err */
  function reason(err) {
    if (err instanceof ApiError && words[err.code]) return words[err.code];
    return uploadFailure(err);
  }

  choose.addEventListener("click", () => picker.click());
  picker.addEventListener("change", async () => {
    const file = picker.files && picker.files[0];
    picker.value = "";
    const where = path();
    if (!file || !where) return;
    error.textContent = "";
    status.textContent = "Uploading…";
    choose.disabled = true;
    try {
      take(await sendFile({ method: "PUT", path: where, file, token: client.session.token }));
      status.textContent = saved;
    } catch (err) {
      status.textContent = "";
      error.textContent = reason(err);
    } finally {
      choose.disabled = false;
      choose.focus();
    }
  });
  remove.addEventListener("click", async () => {
    const where = path();
    if (!where) return;
    error.textContent = status.textContent = "";
    try {
      take(await client.api.del(where));
      status.textContent = "Picture removed.";
      choose.focus();
    } catch (err) {
      error.textContent = reason(err);
    }
  });

  return {
    /** Forget what was said (the dialog opens again). */
    clear() {
      error.textContent = status.textContent = "";
    },
    /** @param {boolean} hidden  whether Remove is hidden (no picture is set) */
    setRemovable(hidden) {
      remove.hidden = hidden;
    },
  };
}
