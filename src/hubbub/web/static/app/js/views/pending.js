// A message on its way (the outbox, #13): its text and files, and whether it is queued, being
// sent, waiting to try again (and why), or failed (Retry, Delete). The room's timeline and the
// thread panel show these the same way.

import { h } from "../dom.js";
import { messageText } from "./message-text.js";
import { pendingFiles } from "./attachments.js";

/**
 * @param {import("../client.js").Client} client
 * @param {import("../outbox.js").Pending} e
 */
export function pendingRow(client, e) {
  const store = client.store;
  const failed = e.state === "failed";
  const status = failed
    ? h(
        "span",
        { class: "pending-status failed" },
        `Not sent: ${e.error} `,
        h("button", { type: "button", class: "link-button", dataset: { fk: `p:${e.key}:retry` }, onclick: () => client.outbox.retry(e.key) }, "Retry"),
        " · ",
        h("button", { type: "button", class: "link-button", dataset: { fk: `p:${e.key}:discard` }, onclick: () => client.outbox.discard(e.key) }, "Delete"),
      )
    : h(
        "span",
        { class: "pending-status" },
        e.state === "retrying" ? e.error : e.state === "queued" ? "Queued…" : "Sending…",
      );
  return h(
    "li",
    {
      class: `msg mine pending${failed ? " failed" : ""}`,
      dataset: { pending: e.key },
      "aria-busy": failed ? null : "true",
    },
    h("div", { class: "msg-body" }, messageText(store, { room_id: e.roomId, author: store.me || { display_name: "" }, text: e.text }), pendingFiles(e.attachments), status),
  );
}
