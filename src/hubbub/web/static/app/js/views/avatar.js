// People's pictures (#15): a User's avatar_url where the page knows it, else their initials on
// a colour of their own (as before pictures existed).
//
// A message's author carries the picture they had when it was sent (history: the one they have
// now). What the page holds of that person as a User is fresher when it has them (myself, and
// the member lists fetched, kept current by user.updated), so that wins.

import { h } from "../dom.js";
import { hue, initials } from "../format.js";

/**
 * @typedef {import("../store.js").Store} Store
 * @typedef {{id?: string | null, username?: string | null, display_name: string, avatar_url?: string | null}} Person
 */

/**
 * A lookup from a message's author to their picture, over what the store holds now (made once
 * per render), else the author's own `avatar_url`.
 * @param {Store} store
 * @returns {(author: Person) => string | null}
 */
export function avatarLookup(store) {
  /** @type {Map<string, string | null>} */
  const urls = new Map();
  for (const members of store.members.values()) {
    for (const m of members) if (m.user && m.user.id) urls.set(m.user.id, m.user.avatar_url || null);
  }
  if (store.me) urls.set(store.me.id, store.me.avatar_url || null);
  return (author) => {
    if (author.id && urls.has(author.id)) return urls.get(author.id) || null;
    return author.avatar_url || null;
  };
}

/**
 * A person's picture, or their initials.
 * @param {Person} person
 * @param {string | null} url
 * @param {string} name  as shown (for the initials)
 * @param {string} [cls]  more classes ("avatar" places it in a message head)
 */
export function avatarBadge(person, url, name, cls = "avatar") {
  if (url) {
    const el = h("span", { class: `${cls} has-picture`, "aria-hidden": "true" });
    const img = h("img", { src: url, alt: "", width: 36, height: 36, decoding: "async" });
    // A picture that cannot load (deleted since): the initials instead.
    img.addEventListener("error", () => {
      el.classList.remove("has-picture");
      el.replaceChildren(initials(name));
    });
    el.append(img);
    el.style.setProperty("--hue", String(hue(person.username || name)));
    return el;
  }
  const el = h("span", { class: cls, "aria-hidden": "true" }, initials(name));
  el.style.setProperty("--hue", String(hue(person.username || name)));
  return el;
}
