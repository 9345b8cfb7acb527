// My picture in account settings (#15): choose one (PUT /me/avatar; the server crops it to a
// 256 px square) or remove it. Others see it through user.updated.

import { $ } from "../dom.js";
import { avatarBadge } from "./avatar.js";
import { mountPictureControl } from "./picture-control.js";

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 */
export function mountAvatarSettings({ client }) {
  const store = client.store;
  const preview = $("avatar-preview");
  const control = mountPictureControl({
    client,
    prefix: "avatar",
    path: () => "/me/avatar",
    take: (/** @type {import("../store.js").User} */ user) => store.setMe(user),
    saved: "Saved. People now see your picture.",
  });

  function render() {
    const me = store.me;
    if (!me) return;
    const name = me.display_name || me.username;
    preview.replaceChildren(avatarBadge(me, me.avatar_url || null, name, "avatar avatar-large"));
    control.setRemovable(!me.avatar_url);
  }

  store.addEventListener("me", render);

  return {
    /** The dialog opens: what is set now, no old messages. */
    reset() {
      control.clear();
      render();
    },
  };
}
