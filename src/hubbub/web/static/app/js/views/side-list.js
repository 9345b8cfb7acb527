// A message as the Mentions, Threads and Pins views list it (#17): where, who (with a BOT badge,
// #19), when, its text and an integration's cards, and a button that opens it.

import { visibleText } from "../bidi.js";
import { h } from "../dom.js";
import { formatWhen } from "../format.js";
import { authorName } from "./author.js";
import { messageCards } from "./cards.js";
import { mentionStyle, messageText } from "./message-text.js";

/**
 * @param {import("../client.js").Client} client
 * @param {import("../store.js").Message} m
 * @param {{onOpen: () => void, label?: string, extra?: import("../dom.js").Child}} o
 */
export function messageItem(client, m, { onOpen, label = "Open", extra = null }) {
  const room = client.store.rooms.get(m.room_id);
  const where = room ? (room.kind === "dm" ? client.store.dmPartner(room) || room.name : `#${room.name}`) : "";
  return h(
    "li",
    { dataset: { id: m.id } },
    h(
      "div",
      { class: "where" },
      visibleText(where),
      " · ",
      h("time", { datetime: m.created_at }, formatWhen(m.created_at)),
      m.thread_root ? " · in a thread" : null,
    ),
    h("span", { class: "who" }, authorName(m.author)),
    m.deleted ? h("p", { class: "text deleted-text" }, "This message was deleted.") : messageText(client.store, m),
    m.deleted ? null : messageCards(m, { mention: mentionStyle(client.store, m) }),
    extra,
    h("button", { type: "button", class: "link-button", onclick: onOpen }, label),
  );
}

/**
 * A list, or what to say when it is empty.
 * @param {HTMLElement[]} items
 * @param {string} empty
 */
export function listOrEmpty(items, empty) {
  return items.length ? h("ul", { class: "side-panel-list" }, items) : h("p", { class: "empty" }, empty);
}
