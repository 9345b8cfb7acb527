// The thread panel (#17): a root message and its replies in the side panel, live, with its own
// composer (Enter sends, Shift+Enter adds a line; "Also send to the room" shows the reply in
// the main timeline too). Replies go through the outbox like the room's messages (#13: kept
// across a reload, retried, shown as pending until sent), and may carry files (#15: Attach,
// drop on the panel, paste).
//
// Replies come from GET /messages/{id}/thread, and live from the room's timeline in the store
// (message.created with thread_root, edits, deletes); a thread.updated for this root fetches the
// thread again, for replies the timeline does not hold.

import { $, h } from "../dom.js";
import { formatFull, formatTime } from "../format.js";
import { enterAction } from "../composer-keys.js";
import { authorName } from "./author.js";
import { mentionStyle, messageText } from "./message-text.js";
import { messageCards } from "./cards.js";
import { attachmentList } from "./attachments.js";
import { OPEN_THREAD } from "./message-extras.js";
import { attachComposerFiles, filesParts } from "./composer-files.js";
import { pendingRow } from "./pending.js";

/**
 * @typedef {import("../store.js").Message} Message
 */

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./side-panel.js").SidePanel} o.panel
 * @param {(err: unknown) => void} o.onError
 */
export function mountThreadPanel({ client, panel, onError }) {
  const store = client.store;
  /** @type {Message | null} */
  let root = null;
  /** @type {Map<number, Message>} replies as last fetched */
  let fetched = new Map();
  let loaded = false;
  let refetch = 0;
  let readUpTo = 0;
  /** @type {Message | null} my reply being edited in the thread's composer */
  let editing = null;
  /** @type {boolean | null} following, as I last set it here (null: as the server's rule says) */
  let following = null;

  const input = h("textarea", {
    id: "thread-input",
    rows: 2,
    maxlength: 4000,
    placeholder: "Reply in thread",
    "aria-label": "Reply in thread",
  });
  const also = h("input", { type: "checkbox", id: "thread-also-to-room" });
  const sendButton = h("button", { type: "submit", class: "primary small" }, "Reply");
  const followButton = h("button", { type: "button", class: "small", id: "thread-follow", onclick: () => toggleFollow() }, "Unfollow");
  const parts = filesParts("thread");
  const form = h(
    "form",
    { class: "thread-composer", novalidate: true },
    parts.tray,
    parts.note,
    input,
    h(
      "div",
      { class: "row" },
      parts.attach,
      parts.picker,
      h("label", { for: "thread-also-to-room", class: "small" }, also, " Also send to the room"),
      followButton,
      sendButton,
    ),
  );
  parts.dropZone = $("side-panel");
  // Files go with a reply; each room keeps its own tray, apart from the room's composer's.
  const files = attachComposerFiles({ client, input, roomId: () => (root && !editing ? root.room_id : null), parts });

  const owner = () => (root ? `thread:${root.id}` : "");
  const shown = () => !!root && panel.owner() === owner();

  /** @param {string} id */
  function held(id) {
    const m = store.findMessage(id);
    return m && m.room_id === root?.room_id ? m : null;
  }

  /** The replies: what was fetched, updated by what the store holds (live). */
  function replies() {
    if (!root) return [];
    const bySeq = new Map(fetched);
    const t = store.timelines.get(root.room_id);
    if (t) {
      for (const m of t.bySeq.values()) if (m.thread_root === root.id) bySeq.set(m.seq, m);
      for (const seq of bySeq.keys()) {
        const live = t.bySeq.get(seq);
        if (live) bySeq.set(seq, live);
      }
    }
    return [...bySeq.values()].sort((a, b) => a.seq - b.seq);
  }

  /** My replies on their way (the outbox), after the sent ones. */
  function pending() {
    return root ? client.outbox.pendingInThread(root.id) : [];
  }

  /** Whether I follow: as I set it here, else the server's rule (the root's author and repliers). */
  function isFollowing() {
    if (following !== null || !root) return !!following;
    const me = store.me?.id;
    return root.author.id === me || replies().some((m) => m.author.id === me);
  }

  async function toggleFollow() {
    if (!root) return;
    const next = !isFollowing();
    try {
      await client.conversations.follow(root.id, next);
      following = next;
      render();
    } catch (err) {
      onError(err);
    }
  }

  /**
   * Edit and Delete on my own replies (Delete asks to be pressed twice).
   * @param {Message} m
   */
  function ownActions(m) {
    if (m.deleted || !store.me || m.author.id !== store.me.id || m.id === root?.id) return null;
    /** @type {number | undefined} */
    let armed;
    return h(
      "div",
      { class: "thread-actions" },
      h("button", { type: "button", class: "link-button", onclick: () => startEdit(m) }, "Edit"),
      h(
        "button",
        {
          type: "button",
          class: "link-button danger-text",
          onclick: (/** @type {MouseEvent} */ e) => {
            const button = /** @type {HTMLButtonElement} */ (e.currentTarget);
            if (!armed) {
              button.textContent = "Delete?";
              armed = setTimeout(() => {
                armed = undefined;
                button.textContent = "Delete";
              }, 4000);
              return;
            }
            clearTimeout(armed);
            client.remove(m).then(load, onError);
          },
        },
        "Delete",
      ),
    );
  }

  /** @param {Message} m */
  function startEdit(m) {
    editing = m;
    input.value = m.text;
    sendButton.textContent = "Save";
    files.setEnabled(false); // an edit does not change a message's files
    input.focus();
  }

  function stopEdit() {
    editing = null;
    input.value = "";
    sendButton.textContent = "Reply";
    files.setRoom(!!root);
  }

  /**
   * @param {Message} m
   * @param {string} cls
   */
  function row(m, cls) {
    return h(
      "div",
      { class: `msg ${cls}`, dataset: { seq: String(m.seq), id: m.id } },
      h(
        "div",
        { class: "msg-head" },
        authorName(m.author),
        " ",
        h("time", { datetime: m.created_at, title: formatFull(m.created_at), class: "time" }, formatTime(m.created_at)),
      ),
      m.deleted
        ? h("p", { class: "text deleted-text" }, "This message was deleted.")
        : messageText(store, m, m.edited_at ? formatFull(m.edited_at) : null),
      m.deleted ? null : messageCards(m, { mention: mentionStyle(store, m) }), // #19
      attachmentList(client, m), // #15
      ownActions(m),
    );
  }

  function render() {
    if (!shown() || !root) return;
    const top = held(root.id) || root;
    const list = replies();
    const count = list.filter((m) => !m.deleted).length;
    panel.update([
      h("div", { class: "thread-root" }, row(top, "thread-root-msg")),
      h("p", { class: "muted small", role: "status" }, loaded ? `${count} ${count === 1 ? "reply" : "replies"}` : "Loading replies…"),
      h(
        "ol",
        { class: "side-panel-list thread-replies", "aria-label": "Replies" },
        list.map((m) => h("li", {}, row(m, "thread-reply"))),
        pending().map((e) => pendingRow(client, e)),
      ),
    ]);
    followButton.textContent = isFollowing() ? "Unfollow" : "Follow";
    followButton.setAttribute("aria-pressed", String(isFollowing()));
    const last = list.length ? list[list.length - 1].seq : 0;
    // Only followers have a read marker in a thread (others get 403).
    if (loaded && last > readUpTo && isFollowing() && document.visibilityState === "visible") {
      readUpTo = last;
      client.conversations.markThreadRead(root.id, last).catch(() => {});
    }
  }

  async function load() {
    if (!root) return;
    const id = root.id;
    try {
      const page = await client.conversations.thread(id);
      if (!root || root.id !== id) return;
      root = page.root;
      fetched = new Map(page.replies.map((m) => [m.seq, m]));
      loaded = true;
      render();
    } catch (err) {
      onError(err);
    }
  }

  /** @param {Message} m */
  function open(m) {
    root = m;
    fetched = new Map();
    loaded = false;
    readUpTo = 0;
    following = null;
    stopEdit();
    also.checked = false;
    panel.show(owner(), "Thread", [], form);
    render();
    load();
    input.focus();
  }

  async function submit() {
    const text = input.value;
    if (!root) return;
    if (editing) {
      if (!text.trim()) return;
      const m = editing;
      stopEdit();
      if (text !== m.text) {
        try {
          await client.edit(m, text);
          await load();
        } catch (err) {
          onError(err);
        }
      }
      return;
    }
    const roomId = root.room_id;
    if (!text.trim() && !files.has(roomId)) return;
    if (files.hold(roomId, submit)) return; // files still uploading, or one failed
    client.send(roomId, text.trim() ? text : "", null, files.take(roomId), { root: root.id, alsoToRoom: also.checked });
    input.value = "";
    also.checked = false;
    render();
    input.focus();
  }

  input.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && editing) {
      e.preventDefault(); // cancels the edit, not the panel
      stopEdit();
      return;
    }
    if (e.key !== "Enter") return;
    const what = enterAction(e, input);
    if (what === "send") {
      e.preventDefault();
      submit();
    }
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });

  document.addEventListener(OPEN_THREAD, (e) => {
    const d = /** @type {CustomEvent<{message?: Message, rootId?: string}>} */ (e).detail;
    if (d.message && !d.message.thread_root) open(d.message);
    else if (d.rootId) api.openById(d.rootId);
  });
  let pendingShown = 0;
  client.outbox.addEventListener("change", (e) => {
    if (!root || /** @type {CustomEvent<{roomId: string}>} */ (e).detail.roomId !== root.room_id) return;
    const n = pending().length;
    if (n < pendingShown && shown()) {
      // A reply was sent: fetch the thread, in case the room's timeline does not hold it.
      clearTimeout(refetch);
      refetch = setTimeout(load, 150);
    }
    pendingShown = n;
    render();
  });
  store.addEventListener("timeline", (e) => {
    if (root && /** @type {CustomEvent<{roomId: string}>} */ (e).detail.roomId === root.room_id) render();
  });
  store.addEventListener("thread", (e) => {
    const d = /** @type {CustomEvent<{roomId: string, rootId: string}>} */ (e).detail;
    if (!root || d.rootId !== root.id || !shown()) return;
    clearTimeout(refetch);
    refetch = setTimeout(load, 150);
  });
  // Left the room, or was removed: its thread goes too.
  store.addEventListener("rooms", () => {
    if (root && shown() && !store.rooms.has(root.room_id)) panel.close();
  });

  const api = {
    open,
    /** @param {string} rootId */
    async openById(rootId) {
      try {
        open(await client.fetchMessage(rootId));
      } catch (err) {
        onError(err);
      }
    },
  };
  return api;
}
