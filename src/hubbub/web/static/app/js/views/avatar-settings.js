// My picture in account settings (#15): choose one (PUT /me/avatar; the server crops it to a
// 256 px square) or remove it. Others see it through user.updated.

import { ApiError } from "../api.js";
import { $ } from "../dom.js";
import { sendFile, uploadFailure } from "../uploads.js";
import { avatarBadge } from "./avatar.js";

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 */
export function mountAvatarSettings({ client }) {
  const store = client.store;
  const preview = $("avatar-preview");
  const choose = $("avatar-choose", HTMLButtonElement);
  const remove = $("avatar-remove", HTMLButtonElement);
  const picker = $("avatar-file", HTMLInputElement);
  const error = $("avatar-error");
  const status = $("avatar-status");

  function render() {
    const me = store.me;
    if (!me) return;
    const name = me.display_name || me.username;
    preview.replaceChildren(avatarBadge(me, me.avatar_url || null, name, "avatar avatar-large"));
    remove.hidden = !me.avatar_url;
  }

  /** @param {unknown} err */
  function reason(err) {
    if (err instanceof ApiError && err.code === "bad_image") return "That is not a picture the server can read: use PNG, JPEG, GIF or WebP.";
    return uploadFailure(err);
  }

  choose.addEventListener("click", () => picker.click());
  picker.addEventListener("change", async () => {
    const file = picker.files && picker.files[0];
    picker.value = "";
    if (!file) return;
    error.textContent = "";
    status.textContent = "Uploading…";
    choose.disabled = true;
    try {
      const user = await sendFile({ method: "PUT", path: "/me/avatar", file, token: client.session.token });
      store.setMe(user);
      status.textContent = "Saved. People now see your picture.";
    } catch (err) {
      status.textContent = "";
      error.textContent = reason(err);
    } finally {
      choose.disabled = false;
      choose.focus();
    }
  });
  remove.addEventListener("click", async () => {
    error.textContent = status.textContent = "";
    try {
      store.setMe(await client.api.del("/me/avatar"));
      status.textContent = "Picture removed.";
      choose.focus();
    } catch (err) {
      error.textContent = reason(err);
    }
  });
  store.addEventListener("me", render);

  return {
    /** The dialog opens: what is set now, no old messages. */
    reset() {
      error.textContent = status.textContent = "";
      render();
    },
  };
}
