// The composer: Enter sends, Shift+Enter adds a line, Up edits my last message, Escape cancels a
// reply or an edit. Typing tells the room (throttled by the client). Where I am muted it is
// disabled and says so.

import { isolated } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { snippet } from "../format.js";
import { authorText, authorTitle, clashingNames } from "../names.js";
import { enterAction } from "../composer-keys.js";
import { plainText } from "../markdown.js";
import { attachMentionAutocomplete } from "./mention-autocomplete.js";
import { attachCommandAutocomplete } from "./command-autocomplete.js";
import { attachComposerFiles } from "./composer-files.js";

/** @typedef {import("../store.js").Message} Message */

// The server's default message_text_max (characters, as it counts them: code points). Longer
// text is not cut: the counter says how much too long it is, and Send waits until it fits.
export const TEXT_MAX = 4000;
const COUNT_FROM = 3500; // the counter shows from here

/**
 * What the composer is doing besides writing a new message.
 * @typedef {{kind: "reply" | "edit", message: Message} | null} Mode
 */

/**
 * @param {{client: import("../client.js").Client, onError: (err: unknown) => void}} o
 */
export function mountComposer({ client, onError }) {
  const form = $("composer", HTMLFormElement);
  const input = $("composer-input", HTMLTextAreaElement);
  const send = $("composer-send", HTMLButtonElement);
  const context = $("composer-context");
  const contextText = $("composer-context-text");
  const mutedNote = $("composer-muted");
  const count = $("composer-count");
  const commandReplies = $("command-replies");
  let over = false;
  const MUTED = "You are muted in this room";
  /** @type {string | null} */
  let roomId = null;
  let label = "";
  let muted = false;
  /** @type {Mode} */
  let mode = null;
  let draftBeforeEdit = "";
  const drafts = client.drafts; // each room's unsent text, kept across reloads

  /** Enabled only in a room where I may write; says why not when muted. */
  function applyState() {
    muted = !!roomId && client.store.isMuted(roomId);
    if (muted && mode) cancel();
    input.disabled = send.disabled = !roomId || muted;
    files.setEnabled(!!roomId && !muted); // #15
    input.placeholder = muted ? MUTED : roomId ? `Message ${label}` : "Message";
    mutedNote.textContent = muted ? `${MUTED}: you can read it, but not write in it.` : "";
    updateCount();
  }

  /** The counter near the limit, and the refusal past it. */
  function updateCount() {
    const n = [...input.value].length;
    over = n > TEXT_MAX;
    count.hidden = n < COUNT_FROM;
    count.classList.toggle("over", over);
    if (over) input.setAttribute("aria-invalid", "true");
    else input.removeAttribute("aria-invalid");
    send.disabled = !roomId || muted || over;
    if (count.hidden) return;
    const fmt = (/** @type {number} */ x) => x.toLocaleString("en");
    count.textContent = over
      ? `${fmt(n)} / ${fmt(TEXT_MAX)} characters: ${fmt(n - TEXT_MAX)} too many. Shorten the message to send it.`
      : `${fmt(n)} / ${fmt(TEXT_MAX)} characters`;
  }

  function autosize() {
    updateCount();
    input.style.height = "auto";
    input.style.height = `${Math.min(input.scrollHeight, 200)}px`;
  }

  /** @param {Mode} next */
  function setMode(next) {
    mode = next;
    context.hidden = !mode;
    if (!mode) {
      contextText.textContent = "";
      send.textContent = "Send";
      return;
    }
    const m = mode.message;
    if (mode.kind === "edit") {
      contextText.textContent = "Editing your message (Escape to cancel)";
    } else {
      const clashes = clashingNames(client.store.peopleIn(m.room_id));
      replaceChildren(
        contextText,
        "Replying to ",
        isolated(authorText(m.author, clashes), { title: authorTitle(m.author) }),
        ": ",
        isolated(snippet(plainText(m.text), 80)), // #17: without its Markdown syntax
      );
    }
    send.textContent = mode.kind === "edit" ? "Save" : "Send";
  }

  function cancel() {
    if (mode && mode.kind === "edit") input.value = draftBeforeEdit;
    setMode(null);
    autosize();
  }

  function lastOwnMessage() {
    const t = roomId && client.store.timelines.get(roomId);
    if (!t) return null;
    const list = t.list();
    for (let i = list.length - 1; i >= 0; i--) {
      const m = list[i];
      if (m.author.id === client.store.me?.id && !m.deleted) return m;
    }
    return null;
  }

  async function submit() {
    const text = input.value;
    const editing = !!mode && mode.kind === "edit";
    // #15: a message may be only files
    if (!roomId || muted || (!text.trim() && (editing || !files.has(roomId)))) return;
    if (over) {
      count.classList.remove("over");
      void count.offsetWidth; // restart the highlight: Enter was refused
      count.classList.add("over");
      return;
    }
    if (mode && mode.kind === "edit") {
      const m = mode.message;
      const restore = draftBeforeEdit;
      setMode(null);
      input.value = restore;
      drafts.set(roomId, restore);
      autosize();
      if (text !== m.text) {
        try {
          await client.edit(m, text);
        } catch (err) {
          onError(err);
        }
      }
      return;
    }
    if (files.hold(roomId, submit)) return; // #15: files still uploading, or one failed
    const replyTo = mode && mode.kind === "reply" ? mode.message.id : null;
    client.send(roomId, text.trim() ? text : "", replyTo, files.take(roomId));
    input.value = "";
    drafts.set(roomId, "");
    setMode(null);
    autosize();
  }

  input.addEventListener("keydown", (e) => {
    if (e.isComposing) return;
    // #17: Enter inside an open ``` fence adds a line (composer-keys.js)
    if (e.key === "Enter" && enterAction(e, input) === "send") {
      e.preventDefault();
      submit();
    } else if (e.key === "ArrowUp" && input.value === "" && !mode) {
      const m = lastOwnMessage();
      if (m) {
        e.preventDefault();
        api.edit(m);
      }
    } else if (e.key === "Escape" && mode) {
      e.preventDefault();
      cancel();
    }
  });
  input.addEventListener("input", () => {
    autosize();
    if (roomId && !(mode && mode.kind === "edit")) drafts.set(roomId, input.value);
    if (roomId && input.value.trim() && !(mode && mode.kind === "edit")) client.typing(roomId);
  });
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    submit();
  });
  $("composer-cancel").addEventListener("click", () => {
    cancel();
    input.focus();
  });

  attachMentionAutocomplete({ client, input, roomId: () => roomId, id: "mention-suggestions" }); // #17
  attachCommandAutocomplete({ client, input, id: "command-suggestions" }); // #19
  const files = attachComposerFiles({ client, input, roomId: () => roomId }); // #15

  // A mute (or its end) arrives as a change to my rooms.
  client.store.addEventListener("rooms", () => {
    if (roomId && client.store.isMuted(roomId) !== muted) applyState();
  });

  /** Slash commands' answers in this room, for me only (#19), with a way to dismiss them. */
  function renderCommandReplies() {
    const replies = (roomId && client.store.commandReplies.get(roomId)) || [];
    commandReplies.hidden = !replies.length;
    replaceChildren(
      commandReplies,
      replies.map((r) =>
        h(
          "p",
          { class: "command-reply" },
          h("strong", { class: "command-name" }, r.command),
          " ",
          isolated(r.text, { class: "command-text" }),
          " ",
          h("span", { class: "only-you muted small" }, "Only visible to you"),
        ),
      ),
      replies.length
        ? h(
            "button",
            {
              type: "button",
              class: "link-button small",
              onclick: () => roomId && client.store.dismissCommandReplies(roomId),
            },
            "Dismiss",
          )
        : null,
    );
  }
  client.store.addEventListener("commands", renderCommandReplies);

  const api = {
    /**
     * Point the composer at a room (keeping each room's unsent draft).
     * @param {string | null} id
     * @param {string} [name]
     */
    setRoom(id, name = "") {
      if (roomId) drafts.set(roomId, mode && mode.kind === "edit" ? draftBeforeEdit : input.value);
      roomId = id;
      label = name;
      files.setRoom(!!id); // #15: applyState() below disables it where I am muted
      setMode(null);
      input.value = id ? drafts.get(id) : "";
      applyState();
      autosize();
      renderCommandReplies();
    },
    /** @param {Message} message */
    reply(message) {
      if (muted) return;
      if (mode && mode.kind === "edit") cancel();
      setMode({ kind: "reply", message });
      input.focus();
    },
    /** @param {Message} message */
    edit(message) {
      if (muted) return;
      if (!mode || mode.kind !== "edit") draftBeforeEdit = input.value;
      setMode({ kind: "edit", message });
      input.value = message.text;
      autosize();
      input.focus();
      input.setSelectionRange(input.value.length, input.value.length);
    },
    focus() {
      input.focus();
    },
  };
  return api;
}
