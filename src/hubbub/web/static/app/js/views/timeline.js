// The timeline of the room on screen: messages grouped by author and day, the "new messages"
// divider, replies, reactions, pending sends; infinite scroll back; jump to latest; read marking.
//
// Rows are keyed (message seq, pending key, dividers) and rebuilt only when what they show
// changes, so scroll position and focus survive live updates.

import { visibleText, withoutBidiControls } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { dayKey, dayLabel, formatFull, formatTime, snippet } from "../format.js";
import { authorText, clashingNames, displayName, showsUsername } from "../names.js";
import { advanceMarker, isSeenEnough } from "../readmarker.js";
import { icon } from "../icons.js";
import { managesRoom } from "../roles.js";
import { authorName } from "./author.js";
import { toast } from "./banner.js";
import { conversationActions, extrasSignature, pinnedMarker, threadSummary } from "./message-extras.js";
import { moreEmojiButton } from "./emoji-picker.js";
import { mentionStyle, messageText } from "./message-text.js";
import { onlyInThread, mentionsMe } from "../conversations.js";
import { plainText } from "../markdown.js";
import { attachmentList, attachmentsSignature } from "./attachments.js";
import { pendingRow } from "./pending.js";
import { avatarBadge, avatarLookup } from "./avatar.js";
import { messageCards } from "./cards.js";

const QUICK_REACTIONS = ["👍", "❤️", "😂", "🎉", "😮", "😢"];
const GROUP_GAP_MS = 5 * 60 * 1000;
const NEAR_BOTTOM_PX = 80;
const LOAD_OLDER_PX = 400;

/**
 * @typedef {import("../store.js").Message} Message
 * @typedef {import("../outbox.js").Pending} Pending
 * @typedef {{sig: string, el: HTMLElement}} Row  an element and what it shows
 */

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {ReturnType<typeof import("./composer.js").mountComposer>} o.composer
 * @param {(err: unknown) => void} o.onError
 */
export function mountTimeline({ client, composer, onError }) {
  const store = client.store;
  const scroller = $("timeline");
  const list = $("messages");
  const jump = $("jump-latest");
  const historyStatus = $("history-status");
  const typingEl = $("typing");
  /** @type {string | null} */
  let roomId = null;
  /** @type {number | null} the read marker when the room was opened */
  let dividerAfter = null;
  /** @type {Map<string, Row>} */
  let rows = new Map();
  let stickToBottom = true;
  let unseen = 0;
  let lastMaxSeq = 0;
  let scrollPending = false;
  // Read marking (see readmarker.js): seqs that were on screen while the page was visible, and
  // those on screen now. Nothing counts before settle() has scrolled to where the room opens.
  /** @type {Set<number>} */
  let seen = new Set();
  /** @type {Set<number>} */
  const onScreen = new Set();
  let settled = false;
  /** @type {number | null} on touch screens, the message whose actions show (one at a time) */
  let selectedSeq = null;
  const observer = new IntersectionObserver(onIntersect, { root: scroller, threshold: [0, 0.5, 1] });

  const isAtBottom = () =>
    scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < NEAR_BOTTOM_PX;

  /**
   * @param {Message} a
   * @param {Message} b
   */
  function sameAuthor(a, b) {
    if (!a || !b) return false;
    if (a.author.id || b.author.id) return a.author.id === b.author.id;
    return a.author.display_name === b.author.display_name; // guests from the classic API
  }

  /** @param {Message} m */
  function canDelete(m) {
    const mine = m.author.id && m.author.id === store.me?.id;
    return mine || managesRoom(store.rooms.get(m.room_id), store.me);
  }

  // -- rows -----------------------------------------------------------------------------------

  /**
   * @param {Message} m
   * @param {Set<string>} clashes  see names.js
   */
  function replyQuote(m, clashes) {
    if (!m.reply_to) return null;
    const target = store.findMessage(m.reply_to);
    if (!target) {
      client
        .fetchMessage(m.reply_to)
        .then(() => render())
        .catch(() => {});
    }
    const label = target
      ? target.deleted
        ? "a deleted message"
        : snippet(plainText(target.text), 100) // #17: without its Markdown syntax
      : "…";
    return h(
      "button",
      {
        type: "button",
        class: "reply-quote",
        dataset: { fk: `${m.seq}:quote` },
        "aria-label": withoutBidiControls(`In reply to ${target ? authorText(target.author, clashes) : "a message"}: ${label}`),
        onclick: () => target && reveal(target.seq),
      },
      h("span", { class: "reply-arrow" }, icon("corner-down-right")),
      target ? authorName(target.author, { clashes, nameClass: "quoted-author", tag: "strong" }) : null,
      h("bdi", { class: "reply-text" }, visibleText(label)),
    );
  }

  /** @param {Message} m */
  function reactionBar(m) {
    if (m.deleted || !m.reactions.length) return null;
    return h(
      "div",
      { class: "reactions" },
      m.reactions.map((r) =>
        h(
          "button",
          {
            type: "button",
            class: "reaction",
            "aria-pressed": String(r.me),
            "aria-label": `${r.emoji} ${r.count} ${r.count === 1 ? "reaction" : "reactions"}${r.me ? ", including yours" : ""}`,
            dataset: { fk: `${m.seq}:r:${r.emoji}` },
            onclick: () => client.react(m, r.emoji).catch(onError),
          },
          h("span", { "aria-hidden": "true" }, r.emoji),
          h("span", { class: "count", "aria-hidden": "true" }, String(r.count)),
        ),
      ),
    );
  }

  /** @param {Message} m */
  function actions(m) {
    if (m.deleted) return null;
    const mine = m.author.id && m.author.id === store.me?.id;
    /** @type {HTMLElement | null} made on first use: most messages never show one */
    let picker = null;
    const makePicker = () => {
      /** @type {HTMLElement} */
      const p = h(
        "div",
        { class: "emoji-picker", role: "group", "aria-label": "Pick a reaction", hidden: true },
        QUICK_REACTIONS.map((emoji) =>
          h(
            "button",
            {
              type: "button",
              "aria-label": `React with ${emoji}`,
              dataset: { fk: `${m.seq}:pick:${emoji}` },
              onclick: () => {
                p.hidden = true;
                client.react(m, emoji).catch(onError);
              },
            },
            emoji,
          ),
        ),
        // #17: the full picker (emoji-picker.js), opened in place of this one
        moreEmojiButton(() => p, (emoji) => client.react(m, emoji).catch(onError), `${m.seq}:more`),
      );
      // Escape closes the picker and goes back to the message's button (not on to the
      // timeline's "Escape goes to the composer", nor the members panel's).
      p.addEventListener("keydown", (e) => {
        if (e.key === "Escape") {
          e.preventDefault();
          e.stopPropagation();
          p.hidden = true;
          reactButton.focus();
        }
      });
      bar.append(p);
      return p;
    };
    const reactButton = h(
      "button",
      {
        type: "button",
        "aria-label": "Add reaction",
        title: "Add reaction",
        dataset: { fk: `${m.seq}:react` },
        onclick: () => {
          picker ??= makePicker();
          picker.hidden = !picker.hidden;
          if (!picker.hidden) picker.querySelector("button")?.focus();
        },
      },
      icon("smile-plus"),
    );
    /** @type {number | undefined} */
    let deleteArmed;
    const del = canDelete(m)
      ? h(
          "button",
          {
            type: "button",
            class: "danger-text",
            dataset: { fk: `${m.seq}:delete` },
            onclick: (e) => {
              const button = e.currentTarget;
              if (!deleteArmed) {
                button.textContent = "Delete?";
                button.setAttribute("aria-label", "Press again to delete this message");
                deleteArmed = setTimeout(() => {
                  deleteArmed = undefined;
                  button.textContent = "Delete";
                  button.removeAttribute("aria-label");
                }, 4000);
                return;
              }
              clearTimeout(deleteArmed);
              client.remove(m).catch(onError);
            },
          },
          "Delete",
        )
      : null;
    const bar = h(
      "div",
      { class: "actions" },
      reactButton,
      h(
        "button",
        { type: "button", dataset: { fk: `${m.seq}:reply` }, onclick: () => composer.reply(m) },
        "Reply",
      ),
      mine
        ? h(
            "button",
            { type: "button", dataset: { fk: `${m.seq}:edit` }, onclick: () => composer.edit(m) },
            "Edit",
          )
        : null,
      h(
        "button",
        {
          type: "button",
          title: "Copy a link to this message",
          dataset: { fk: `${m.seq}:link` },
          onclick: () => copyLink(m),
        },
        "Link",
      ),
      conversationActions(client, m, onError), // #17: reply in thread, pin
      del,
    );
    return bar;
  }

  /**
   * Copy the message's permalink (#/r/<room>/<seq>), and go there (so the address bar has it
   * where the clipboard is refused).
   * @param {Message} m
   */
  function copyLink(m) {
    const link = `${location.origin}/#/r/${encodeURIComponent(m.room_id)}/${m.seq}`;
    history.replaceState(null, "", link);
    const done = () => toast("Link to the message copied.");
    if (navigator.clipboard) navigator.clipboard.writeText(link).then(done, () => toast("The link is in the address bar."));
    else toast("The link is in the address bar.");
  }

  /**
   * @param {Message} m
   * @param {boolean} grouped  under the previous message's header
   * @param {Set<string>} clashes  see names.js
   * @param {string | null} avatarUrl  #15: the author's picture, if known
   */
  function messageRow(m, grouped, clashes, avatarUrl) {
    const mine = !!(m.author.id && m.author.id === store.me?.id);
    const name = displayName(m.author);
    const time = h(
      "time",
      { datetime: m.created_at, title: formatFull(m.created_at), class: "time" },
      formatTime(m.created_at),
    );
    let head = null;
    if (!grouped) {
      const avatar = avatarBadge(m.author, avatarUrl, name); // #15: a picture, else initials
      head = h(
        "div",
        { class: "msg-head" },
        avatar,
        authorName(m.author, { clashes }),
        time,
      );
    }
    // #17: Markdown, mentions highlighted (message-text.js)
    const body = m.deleted
      ? h("p", { class: "text deleted-text" }, "This message was deleted.")
      : messageText(store, m, m.edited_at ? formatFull(m.edited_at) : null);
    // #19: an integration's cards under the text (a message may be only cards)
    const cards = m.deleted ? null : messageCards(m, { mention: mentionStyle(store, m) });
    return h(
      "li",
      {
        class: `msg${grouped ? " grouped" : ""}${mine ? " mine" : ""}${m.deleted ? " deleted" : ""}${mentionsMe(m, store.me) ? " mentions-me" : ""}${m.pinned_at ? " pinned" : ""}`,
        id: `msg-${m.seq}`,
        tabindex: "-1",
        dataset: { seq: String(m.seq), id: m.id },
      },
      grouped ? h("span", { class: "gutter-time" }, time) : null,
      head,
      h("div", { class: "msg-body" }, pinnedMarker(m), replyQuote(m, clashes), cards && !m.text ? null : body, cards, attachmentList(client, m), reactionBar(m), threadSummary(m)),
      actions(m),
    );
  }

  /**
   * Rows in order: [key, signature, build].
   * @returns {[string, string, () => HTMLElement][]}
   */
  function describe() {
    /** @type {[string, string, () => HTMLElement][]} */
    const out = [];
    const t = roomId ? store.timelines.get(roomId) : undefined;
    if (!roomId || !t) return out;
    // Display names that read the same for different people: their rows show usernames.
    const clashes = clashingNames(store.peopleIn(roomId));
    const avatarOf = avatarLookup(store); // #15
    /** @type {Message | null} */
    let prev = null;
    let dividerShown = false;
    for (const m of t.list()) {
      if (onlyInThread(m)) continue; // #17: shown in its thread's panel
      const day = dayKey(m.created_at);
      let newDay = !prev || dayKey(prev.created_at) !== day;
      if (newDay) {
        const label = dayLabel(m.created_at);
        out.push([`day:${day}`, label, () => h("li", { class: "day-divider", role: "separator" }, h("span", {}, label))]);
      }
      let divider = false;
      const mine = m.author.id && m.author.id === store.me?.id;
      if (!dividerShown && dividerAfter !== null && m.seq > dividerAfter && !mine) {
        dividerShown = divider = true;
        out.push(["unread", "", () => h("li", { class: "unread-divider", role: "separator", id: "unread-divider" }, h("span", {}, "New messages"))]);
      }
      const grouped =
        !newDay &&
        !divider &&
        prev !== null &&
        sameAuthor(prev, m) &&
        !prev.deleted &&
        Date.parse(m.created_at) - Date.parse(prev.created_at) < GROUP_GAP_MS;
      const target = m.reply_to ? store.findMessage(m.reply_to) : null;
      const sig = JSON.stringify([
        m.id, m.text, m.edited_at, m.deleted, m.reactions, grouped, displayName(m.author),
        showsUsername(m.author, clashes),
        m.reply_to, target && [target.text, target.deleted, authorText(target.author, clashes)],
        canDelete(m),
        extrasSignature(client, m), // #17
        attachmentsSignature(m), grouped ? null : avatarOf(m.author), // #15
        m.cards, // #19
      ]);
      out.push([`m:${m.seq}`, sig, () => messageRow(m, grouped, clashes, avatarOf(m.author))]);
      prev = m;
    }
    for (const e of client.outbox.pendingIn(roomId)) {
      out.push([`p:${e.key}`, JSON.stringify([e.state, e.error]), () => pendingRow(client, e)]);
    }
    return out;
  }

  // -- render ---------------------------------------------------------------------------------

  function render() {
    if (!roomId) return;
    const wasAtBottom = stickToBottom;
    // Kept in place across the update: the first message on screen, found again by its id (its
    // row may be rebuilt, e.g. grouped under older messages that were just loaded above it).
    const anchor = wasAtBottom ? null : firstVisibleRow();
    const anchorId = anchor ? anchor.id : "";
    const anchorTop = anchor ? anchor.getBoundingClientRect().top : 0;
    const focusKey = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.fk;
    const next = new Map();
    const wanted = describe();
    let cursor = list.firstChild; // rows before it are in their final order
    for (const [key, sig, build] of wanted) {
      let row = rows.get(key);
      if (!row || row.sig !== sig) {
        const el = build();
        if (row) {
          if (row.el === cursor) cursor = el;
          observer.unobserve(row.el);
          row.el.replaceWith(el);
        }
        if (el.dataset.seq) observer.observe(el);
        row = { sig, el };
      }
      next.set(key, row);
      if (row.el === cursor) cursor = cursor.nextSibling;
      else list.insertBefore(row.el, cursor);
    }
    for (const [key, row] of rows) {
      if (next.has(key)) continue;
      observer.unobserve(row.el);
      onScreen.delete(Number(row.el.dataset.seq));
      row.el.remove();
    }
    rows = next;
    /** @type {() => HTMLElement | null} */
    const focusTarget = () => list.querySelector(`[data-fk="${CSS.escape(focusKey || "")}"]`);
    if (focusKey && !document.activeElement?.isConnected) {
      focusTarget()?.focus();
    } else if (focusKey && document.activeElement === document.body) {
      focusTarget()?.focus();
    }

    const t = store.timelines.get(roomId);
    const maxSeq = t ? t.maxSeq : 0;
    if (wasAtBottom) {
      scrollToBottom();
    } else if (anchorId) {
      const now = document.getElementById(anchorId);
      if (now) scroller.scrollTop += now.getBoundingClientRect().top - anchorTop;
    }
    // New messages arrived below while I read above (not a page loaded by scrolling down);
    // #17: replies that stay in their thread are not new here.
    if (!wasAtBottom && maxSeq > lastMaxSeq && lastMaxSeq && t && !t.loadingNewer) {
      for (let seq = Math.max(lastMaxSeq + 1, maxSeq - 1000); seq <= maxSeq; seq++) {
        const m = t.bySeq.get(seq);
        if (!m || !onlyInThread(m)) unseen += 1;
      }
    }
    lastMaxSeq = maxSeq;
    historyStatus.textContent = !t || !t.loaded
      ? "Loading messages…"
      : t.loadingOlder
        ? "Loading earlier messages…"
        : t.loadingNewer
          ? "Loading newer messages…"
          : t.hasMoreBefore
          ? ""
          : t.bySeq.size
            ? "This is the beginning of the room."
            : "No messages yet. Say hello!";
    updateJump();
    applySelected();
    schedule();
  }

  function applySelected() {
    for (const el of list.querySelectorAll("li.msg.selected")) {
      if (Number(/** @type {HTMLElement} */ (el).dataset.seq) !== selectedSeq) el.classList.remove("selected");
    }
    if (selectedSeq !== null) document.getElementById(`msg-${selectedSeq}`)?.classList.add("selected");
  }

  // Touch screens have no hover: a tap on a message shows its actions (and hides any other's);
  // a second tap hides them.
  list.addEventListener("click", (e) => {
    if (!matchMedia("(hover: none)").matches) return;
    const target = /** @type {HTMLElement} */ (e.target);
    if (target.closest("button, a, .actions")) return;
    const li = /** @type {HTMLElement | null} */ (target.closest("li.msg[data-seq]"));
    const seq = li ? Number(li.dataset.seq) : null;
    selectedSeq = seq === selectedSeq ? null : seq;
    applySelected();
  });

  /** The first message row on screen (dividers and pending rows have no id to find again). */
  function firstVisibleRow() {
    const top = scroller.getBoundingClientRect().top;
    for (const el of list.children) if (el.id && el.getBoundingClientRect().bottom > top) return el;
    return null;
  }

  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
    stickToBottom = true;
    unseen = 0;
  }

  /** @param {number} seq */
  function reveal(seq) {
    const el = document.getElementById(`msg-${seq}`);
    if (!el) return;
    el.scrollIntoView({ block: "center" });
    el.classList.add("flash");
    setTimeout(() => el.classList.remove("flash"), 1500);
  }

  /** The window of messages held does not reach the newest. */
  const beforeTheEnd = () => !!roomId && !!store.timelines.get(roomId)?.hasMoreAfter;

  function updateJump() {
    const show = !stickToBottom || beforeTheEnd();
    jump.hidden = !show;
    replaceChildren(
      jump,
      unseen > 0 ? `${unseen} new ${unseen === 1 ? "message" : "messages"} ` : "Jump to latest ",
      icon("arrow-down"),
    );
  }

  /** After layout: load older pages near the top, and mark what is on screen as read. */
  function schedule() {
    if (scrollPending) return;
    scrollPending = true;
    requestAnimationFrame(() => {
      scrollPending = false;
      afterScroll();
    });
  }

  function afterScroll() {
    if (!roomId) return;
    const t = store.timelines.get(roomId);
    if (t && t.loaded && settled) {
      if (t.hasMoreBefore && !t.loadingOlder && scroller.scrollTop < LOAD_OLDER_PX) {
        client.loadOlder(roomId).catch(onError);
      }
      const below = scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight;
      if (t.hasMoreAfter && !t.loadingNewer && below < LOAD_OLDER_PX) {
        client.loadNewer(roomId).catch(onError);
      }
    }
    markVisibleRead();
  }

  /** @param {IntersectionObserverEntry[]} entries */
  function onIntersect(entries) {
    for (const entry of entries) {
      const seq = Number(/** @type {HTMLElement} */ (entry.target).dataset.seq);
      if (isSeenEnough(entry)) onScreen.add(seq);
      else onScreen.delete(seq);
    }
    markVisibleRead();
  }

  /** Move my read marker over what has been seen (only while the page is visible). */
  function markVisibleRead() {
    if (document.visibilityState !== "visible" || !roomId || !settled) return;
    for (const seq of onScreen) seen.add(seq);
    const t = store.timelines.get(roomId);
    const room = store.rooms.get(roomId);
    if (!t || !room) return;
    const me = store.me?.id;
    let last = t.maxSeq;
    for (const seq of seen) if (seq > last) last = seq;
    // #17: the thread replies after the last row, when the pages loaded prove that is all
    // there is up to the room's newest, are passed over once that row is seen.
    if (!t.hasMoreAfter && room.last_seq > last && t.covered.covers(last + 1, room.last_seq)) last = room.last_seq;
    const next = advanceMarker({
      marker: room.last_read_seq || 0,
      last,
      // A message seen and then dropped from a long timeline (see Timeline.trim) was seen.
      isHeld: (seq) => t.bySeq.has(seq) || seen.has(seq),
      isSeen: (seq) => seen.has(seq),
      isMine: (seq) => !!me && t.bySeq.get(seq)?.author?.id === me,
      // #17: not shown here, nor unread in the room; a seq not held is one only if a page
      // proved it (a seen one dropped by a trim is no thread reply: it was on screen).
      isThreadOnly: (seq) => {
        const m = t.bySeq.get(seq);
        return m ? onlyInThread(m) : !seen.has(seq) && t.covered.covers(seq, seq);
      },
    });
    if (next > (room.last_read_seq || 0)) client.markRead(roomId, next);
  }

  scroller.addEventListener("scroll", () => {
    stickToBottom = isAtBottom() && !beforeTheEnd();
    if (stickToBottom) unseen = 0;
    updateJump();
    schedule();
  });
  jump.addEventListener("click", () => {
    if (roomId && beforeTheEnd()) client.jumpToLatest(roomId).catch(onError);
    scrollToBottom();
    updateJump();
    composer.focus();
  });
  document.addEventListener("visibilitychange", () => markVisibleRead());
  window.addEventListener("resize", () => {
    if (stickToBottom) scrollToBottom();
  });

  // Keyboard: Up/Down move between messages (a focused message shows its actions, which Tab
  // then reaches); PageUp/PageDown/Home/End scroll; Escape returns to the composer.
  scroller.addEventListener("keydown", (e) => {
    if (e.key === "Escape") {
      if (e.defaultPrevented) return;
      composer.focus();
      return;
    }
    if (e.key !== "ArrowUp" && e.key !== "ArrowDown") return;
    const target = /** @type {Element} */ (e.target);
    const current = target.closest ? target.closest("li.msg") : null;
    if (e.target !== scroller && e.target !== current) return; // keys inside a control
    const items = /** @type {HTMLElement[]} */ ([...list.querySelectorAll("li.msg")]);
    if (!items.length) return;
    e.preventDefault();
    let at = current ? items.indexOf(/** @type {HTMLElement} */ (current)) : items.length;
    at = e.key === "ArrowUp" ? Math.max(0, at - 1) : Math.min(items.length - 1, at + 1);
    items[at].focus();
    items[at].scrollIntoView({ block: "nearest" });
  });

  function renderTyping() {
    const names = roomId ? store.typingIn(roomId) : [];
    typingEl.textContent =
      names.length === 0
        ? ""
        : names.length === 1
          ? `${names[0]} is typing…`
          : names.length === 2
            ? `${names[0]} and ${names[1]} are typing…`
            : "Several people are typing…";
  }
  setInterval(renderTyping, 1000);

  /** @param {Event} e */
  const eventRoom = (e) => /** @type {CustomEvent<{roomId: string}>} */ (e).detail.roomId;
  store.addEventListener("timeline", (e) => {
    if (eventRoom(e) === roomId) render();
  });
  // My role decides which messages I can delete; rows whose rights changed are rebuilt.
  store.addEventListener("rooms", () => roomId && store.rooms.has(roomId) && render());
  store.addEventListener("typing", renderTyping);
  store.addEventListener("me", () => roomId && render()); // #15: my picture changed
  // A member list arrived: someone in it may share a display name with an author.
  store.addEventListener("roster", (e) => {
    if (eventRoom(e) === roomId) render();
  });
  client.outbox.addEventListener("change", (e) => {
    if (eventRoom(e) === roomId) {
      stickToBottom = stickToBottom || document.activeElement === $("composer-input");
      render();
    }
  });

  return {
    /**
     * Show a room (its newest messages, or the first unread).
     * @param {string} id
     */
    show(id) {
      roomId = id;
      rows = new Map();
      observer.disconnect();
      onScreen.clear();
      seen = new Set();
      settled = false;
      selectedSeq = null;
      list.replaceChildren();
      const room = store.rooms.get(id);
      dividerAfter = room && room.unread_count > 0 ? room.last_read_seq || 0 : null;
      stickToBottom = true;
      unseen = 0;
      lastMaxSeq = 0;
      render();
      renderTyping();
    },
    /**
     * After the first page arrived: bring the first unread message (or message `at`, a
     * permalink's) into view.
     * @param {number | null} [at]
     */
    settle(at = null) {
      settled = true;
      if (at !== null && document.getElementById(`msg-${at}`)) {
        reveal(at);
        stickToBottom = isAtBottom() && !beforeTheEnd();
        updateJump();
        schedule();
        return;
      }
      const divider = document.getElementById("unread-divider");
      if (divider && divider.offsetTop < scroller.scrollHeight - scroller.clientHeight) {
        divider.scrollIntoView({ block: "start" });
        stickToBottom = isAtBottom() && !beforeTheEnd();
      } else {
        scrollToBottom();
      }
      updateJump();
      schedule();
    },
    clear() {
      roomId = null;
      rows = new Map();
      observer.disconnect();
      onScreen.clear();
      list.replaceChildren();
      typingEl.textContent = "";
      historyStatus.textContent = "";
      jump.hidden = true;
    },
    render,
    get roomId() {
      return roomId;
    },
  };
}
