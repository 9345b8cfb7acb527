// Notifications in the web client (#18): Settings → Notifications (a clear opt-in for desktop
// notifications, never asked on load; a sound; do not disturb; message text in notifications),
// a per-room level and mute (a "Notifications" button in the room header), desktop
// notifications while the tab is hidden or unfocused for what notifies (notify.js, the
// server's rule), and a favicon badge with the unread mention count.

import { ApiError } from "../api.js";
import { $, h, replaceChildren } from "../dom.js";
import { badgeText, isFuture, mentionTotal, notifyReason } from "../notify.js";
import { mountEmailSettings } from "./email-settings.js";

/**
 * @typedef {import("../shapes.js").Message} Message
 * @typedef {import("../shapes.js").Room} Room
 * @typedef {import("../shapes.js").StreamEvent} StreamEvent
 * @typedef {{do_not_disturb_until: string | null, email: "off" | "digest", push_preview: boolean}} Prefs
 */

const ENABLED_KEY = "hubbub.notify.desktop"; // "1": I opted in on this browser
const PUSH_KEY = "hubbub.push.subscription"; // the id of this browser's push subscription
const SOUND_KEY = "hubbub.notify.sound"; // "1": play a sound with each notification
const HOUR = 3600_000;
const TEXT_MAX = 160;

/** @param {string} key */
function flag(key) {
  try {
    return localStorage.getItem(key) === "1";
  } catch {
    return false;
  }
}

/**
 * @param {string} key
 * @param {boolean} on
 */
function setFlag(key, on) {
  try {
    localStorage.setItem(key, on ? "1" : "0");
  } catch {
    // private mode without storage: the choice lasts until the page closes
  }
}

/** Whether the browser has the Notification API at all. */
const supported = () => typeof window.Notification === "function";

/** A bell (drawn here: a plain outline in the style of the page's icons). */
function bell() {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const attrs = { class: "icon icon-bell", viewBox: "0 0 24 24", fill: "none", stroke: "currentColor", "stroke-width": "2", "stroke-linecap": "round", "stroke-linejoin": "round", "aria-hidden": "true", focusable: "false" };
  for (const [k, v] of Object.entries(attrs)) svg.setAttribute(k, v);
  for (const d of ["M6 16V10a6 6 0 0 1 12 0v6l2 2H4z", "M10 21h4"]) {
    const path = document.createElementNS(ns, "path");
    path.setAttribute("d", d);
    svg.append(path);
  }
  return svg;
}

/** A short beep (no audio file to fetch). */
function beep() {
  try {
    const ctx = new AudioContext();
    const osc = ctx.createOscillator();
    const gain = ctx.createGain();
    osc.frequency.value = 880;
    gain.gain.value = 0.05;
    osc.connect(gain).connect(ctx.destination);
    osc.start();
    osc.stop(ctx.currentTime + 0.15);
    osc.onended = () => ctx.close();
  } catch {
    // no audio here: the notification still shows
  }
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {(roomId: string, seq: number) => void} o.onOpen  open a room at a message
 * @param {(err: unknown) => void} o.onError
 */
export function mountNotifications({ client, onOpen, onError }) {
  const store = client.store;
  /** @type {Prefs} */
  let prefs = { do_not_disturb_until: null, email: "off", push_preview: true };
  /** @type {Set<string>} roots of the threads I follow */
  const followed = new Set();
  /** @type {Set<string>} messages already notified: an edit adding a mention notifies once */
  const notified = new Set();
  let loaded = false;

  async function load() {
    loaded = true;
    try {
      prefs = await client.api.get("/me/notifications");
      const page = await client.api.get("/threads?limit=100");
      for (const t of page.threads || []) followed.add(t.root.id);
    } catch {
      loaded = false; // try again with the next rooms update
    }
    renderSettings();
  }

  // -- desktop notifications ------------------------------------------------------------------

  const away = () => document.visibilityState === "hidden" || !document.hasFocus();

  const wanted = () => away() && supported() && Notification.permission === "granted" && flag(ENABLED_KEY);

  /**
   * @param {Message} message
   * @param {boolean} [onlyMention]  an edited message: it notifies only if it now mentions me
   */
  function consider(message, onlyMention = false) {
    const me = store.me;
    if (!me) return;
    // The server's rule: I follow threads I started or replied in.
    if (message.thread_root && message.author && message.author.id === me.id) followed.add(message.thread_root);
    if (!message.thread_root && message.author && message.author.id === me.id) return;
    const room = store.rooms.get(message.room_id);
    const reason = notifyReason({
      message,
      room,
      meId: me.id,
      followed,
      dndUntil: prefs.do_not_disturb_until,
      now: Date.now(),
    });
    if (!reason || !room || !wanted()) return;
    if ((onlyMention && reason !== "mention") || notified.has(message.id)) return;
    notified.add(message.id);
    if (notified.size > 1000) notified.delete(notified.values().next().value || "");
    const author = message.author?.display_name || message.author?.username || "Someone";
    const where = room.kind === "dm" ? author : `${author} in #${room.name}`;
    const title = reason === "mention" ? `${where} mentioned you` : where;
    const text = message.text.length > TEXT_MAX ? `${message.text.slice(0, TEXT_MAX)}…` : message.text;
    const body = prefs.push_preview ? text || "(a file)" : "New message";
    const n = new Notification(title, { body, tag: message.id });
    n.onclick = () => {
      window.focus();
      onOpen(message.room_id, message.seq);
      n.close();
    };
    if (flag(SOUND_KEY)) beep();
  }

  client.addEventListener("events", (e) => {
    const events = /** @type {CustomEvent<StreamEvent[]>} */ (e).detail;
    for (const ev of events) {
      if (ev.type === "message.created" && ev.data) consider(ev.data);
      // An edit that may add a mention of me (the event has only the text; the server
      // resolved the mentions again): fetch the message to see, if I would be told.
      else if (ev.type === "message.updated" && ev.data && ev.data.text.includes("@") && wanted()) {
        const id = ev.data.id;
        if (!notified.has(id)) client.fetchMessage(id).then((m) => consider(m, true), () => {});
      }
    }
  });

  // -- favicon badge --------------------------------------------------------------------------

  const icon = /** @type {HTMLLinkElement | null} */ (document.querySelector('link[rel="icon"]'));
  const original = icon ? icon.href : "";
  let shown = 0;
  /** @type {HTMLImageElement | null} */
  let image = null;

  function drawBadge() {
    const count = mentionTotal(store.rooms.values());
    if (!icon || count === shown) return;
    shown = count;
    icon.dataset.count = String(count);
    if (count === 0) {
      if (icon.href.startsWith("blob:")) URL.revokeObjectURL(icon.href);
      icon.href = original;
      icon.type = "image/svg+xml";
      return;
    }
    const paint = () => {
      if (shown !== count || !image) return; // a newer count is on its way
      const canvas = document.createElement("canvas");
      canvas.width = canvas.height = 64;
      const g = canvas.getContext("2d");
      if (!g) return;
      g.drawImage(image, 0, 0, 64, 64);
      g.fillStyle = "#d93025";
      g.beginPath();
      g.arc(44, 20, 20, 0, 2 * Math.PI);
      g.fill();
      g.fillStyle = "#fff";
      g.font = "bold 26px sans-serif";
      g.textAlign = "center";
      g.textBaseline = "middle";
      g.fillText(badgeText(count), 44, 21);
      // A blob: URL (the page's CSP allows no data: images), freed when replaced.
      canvas.toBlob((blob) => {
        if (!blob || shown !== count) return;
        if (icon.href.startsWith("blob:")) URL.revokeObjectURL(icon.href);
        icon.type = "image/png";
        icon.href = URL.createObjectURL(blob);
      }, "image/png");
    };
    if (image && image.complete) return paint();
    if (!image) {
      image = new Image();
      image.src = original;
    }
    image.addEventListener("load", paint, { once: true });
  }

  store.addEventListener("rooms", () => {
    if (!loaded && store.me) load();
    drawBadge();
    renderRoomButton();
  });

  // -- Settings → Notifications ---------------------------------------------------------------

  const status = h("p", { class: "muted small", id: "notify-status", role: "status" });
  const enable = h("button", { type: "button", id: "notify-enable", onclick: () => optIn() }, "Turn on desktop notifications");
  const disable = h(
    "button",
    {
      type: "button",
      class: "ghost small",
      id: "notify-disable",
      onclick: () => {
        setFlag(ENABLED_KEY, false);
        renderSettings();
      },
    },
    "Turn off",
  );
  const pushStatus = h("p", { class: "muted small", id: "push-status", role: "status" });
  const pushOn = h("button", { type: "button", id: "push-enable", onclick: () => pushSubscribe() }, "Turn on push notifications");
  const pushOff = h("button", { type: "button", class: "ghost small", id: "push-disable", onclick: () => pushUnsubscribe() }, "Turn off");
  const sound = h("input", { type: "checkbox", id: "notify-sound", onchange: () => setFlag(SOUND_KEY, sound.checked) });
  const preview = h("input", { type: "checkbox", id: "notify-preview", onchange: () => savePrefs({ push_preview: preview.checked }) });
  const dnd = h(
    "select",
    { id: "notify-dnd", onchange: () => savePrefs({ do_not_disturb_until: untilFrom(dnd.value) }) },
    h("option", { value: "" }, "Off"),
    h("option", { value: "1" }, "For 1 hour"),
    h("option", { value: "8" }, "For 8 hours"),
    h("option", { value: "24" }, "For 24 hours"),
  );
  const dndNote = h("span", { class: "muted small", id: "notify-dnd-until" });
  const digest = h("input", { type: "checkbox", id: "notify-email-digest", onchange: () => savePrefs({ email: digest.checked ? "digest" : "off" }) });
  const emailPart = h(
    "div",
    { class: "stack", id: "notify-email" },
    h("h4", {}, "Email"),
    h("label", { class: "row" }, digest, " Email me direct messages and mentions I have not read for a while"),
  );
  const section = h(
    "section",
    { class: "dialog-section", "aria-labelledby": "notify-heading", id: "notify-settings" },
    h("h3", { id: "notify-heading" }, "Notifications"),
    h("p", { class: "muted small" }, "Desktop notifications show while this tab is in the background: direct messages, mentions of you, @room and @here, replies in threads you follow, and every message in rooms set to “All messages”."),
    status,
    h("div", { class: "row" }, enable, disable),
    h("label", { class: "row" }, sound, " Play a sound"),
    h("h4", { id: "push-heading" }, "Push notifications on this device"),
    h("p", { class: "muted small" }, "Also when hubbub is closed: the browser's push service brings them (encrypted, so only this browser can read them). Sent when you are not connected, or when a message is still unread a minute later."),
    pushStatus,
    h("div", { class: "row" }, pushOn, pushOff),
    h("label", { class: "row" }, preview, " Show message text in notifications"),
    h("label", { for: "notify-dnd" }, "Do not disturb"),
    h("div", { class: "row" }, dnd, dndNote),
    emailPart,
  );
  $("settings-dialog").appendChild(section);
  const email = mountEmailSettings({ client, into: emailPart });

  /** @param {string} hours */
  function untilFrom(hours) {
    return hours ? new Date(Date.now() + Number(hours) * HOUR).toISOString() : null;
  }

  async function optIn() {
    if (!supported()) return;
    const answer = await Notification.requestPermission();
    setFlag(ENABLED_KEY, answer === "granted");
    renderSettings();
  }

  /** @param {Partial<Prefs>} change */
  async function savePrefs(change) {
    try {
      prefs = await client.api.put("/me/notifications", { ...prefs, ...change });
    } catch (err) {
      onError(err);
    }
    renderSettings();
  }

  function renderSettings() {
    const permission = supported() ? Notification.permission : "unsupported";
    const on = permission === "granted" && flag(ENABLED_KEY);
    replaceChildren(
      status,
      permission === "unsupported"
        ? "This browser cannot show desktop notifications."
        : permission === "denied"
          ? "The browser blocks notifications from this site: allow them in its site settings."
          : on
            ? "Desktop notifications are on."
            : "Desktop notifications are off.",
    );
    enable.hidden = on || permission === "denied" || permission === "unsupported";
    disable.hidden = !on;
    sound.checked = flag(SOUND_KEY);
    preview.checked = prefs.push_preview;
    digest.checked = prefs.email === "digest";
    const dndOn = isFuture(prefs.do_not_disturb_until, Date.now());
    if (!dndOn) dnd.value = "";
    replaceChildren(dndNote, dndOn && prefs.do_not_disturb_until ? `until ${new Date(prefs.do_not_disturb_until).toLocaleString()}` : "");
  }
  renderSettings();
  $("open-settings").addEventListener("click", () => {
    renderSettings();
    email.refresh();
    renderPush();
  });

  // -- Web Push on this device ----------------------------------------------------------------

  const pushSupported = () => "serviceWorker" in navigator && "PushManager" in window && supported();

  /** @param {string} text */
  function pushSays(text) {
    replaceChildren(pushStatus, text);
  }

  async function currentPush() {
    if (!pushSupported()) return null;
    const registration = await navigator.serviceWorker.getRegistration("/");
    return registration ? registration.pushManager.getSubscription() : null;
  }

  async function renderPush() {
    if (!pushSupported()) {
      pushSays("This browser cannot receive push notifications.");
      pushOn.hidden = pushOff.hidden = true;
      return;
    }
    let on = false;
    try {
      on = !!(await currentPush()) && !!localStorage.getItem(PUSH_KEY);
    } catch {
      on = false;
    }
    pushSays(Notification.permission === "denied" ? "The browser blocks notifications from this site: allow them in its site settings." : on ? "Push notifications are on for this device." : "Push notifications are off for this device.");
    pushOn.hidden = on || Notification.permission === "denied";
    pushOff.hidden = !on;
  }

  /** The server's key (base64url) as the bytes pushManager.subscribe wants.
   * @param {string} text */
  function keyBytes(text) {
    const b64 = text.replace(/-/g, "+").replace(/_/g, "/") + "=".repeat((4 - (text.length % 4)) % 4);
    return Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
  }

  async function pushSubscribe() {
    try {
      if ((await Notification.requestPermission()) !== "granted") return renderPush();
      const registration = await navigator.serviceWorker.ready;
      const { public_key } = await client.api.get("/push/vapid-public-key");
      const subscription = await registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: keyBytes(public_key) });
      const { id } = await client.api.post("/push/subscriptions", subscription.toJSON());
      localStorage.setItem(PUSH_KEY, id);
    } catch (err) {
      if (err instanceof ApiError) onError(err);
      pushSays(`Could not turn push notifications on: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    renderPush();
  }

  async function pushUnsubscribe() {
    try {
      const id = localStorage.getItem(PUSH_KEY);
      localStorage.removeItem(PUSH_KEY);
      if (id) {
        await client.api.del(`/push/subscriptions/${encodeURIComponent(id)}`).catch((err) => {
          if (!(err instanceof ApiError && err.status === 404)) throw err; // gone already: fine
        });
      }
      const subscription = await currentPush();
      if (subscription) await subscription.unsubscribe();
    } catch (err) {
      onError(err);
    }
    renderPush();
  }
  renderPush();

  // -- a room's level and mute ----------------------------------------------------------------

  // An icon button: the header has little room to spare beside the room's name.
  const roomButton = h("button", {
    type: "button",
    id: "open-room-notify",
    class: "icon-button",
    "aria-haspopup": "dialog",
    "aria-label": "Notifications",
    title: "Notifications in this room",
    onclick: () => openRoom(),
  });
  roomButton.append(bell());
  $("open-room-settings").before(roomButton);
  const level = h(
    "select",
    { id: "room-notify-level" },
    h("option", { value: "" }, "Default"),
    h("option", { value: "all" }, "All messages"),
    h("option", { value: "mentions" }, "Mentions and followed threads"),
    h("option", { value: "none" }, "Nothing"),
  );
  const mute = h(
    "select",
    { id: "room-notify-mute" },
    h("option", { value: "" }, "Not muted"),
    h("option", { value: "1" }, "Mute for 1 hour"),
    h("option", { value: "8" }, "Mute for 8 hours"),
    h("option", { value: "168" }, "Mute for a week"),
  );
  const roomError = h("p", { class: "error", role: "alert", id: "room-notify-error" });
  const roomTitle = h("h2", { id: "room-notify-title" }, "Notifications");
  const form = h(
    "form",
    { class: "stack", method: "dialog", id: "room-notify-form" },
    roomTitle,
    h("label", { for: "room-notify-level" }, "Notify me of"),
    level,
    h("label", { for: "room-notify-mute" }, "Mute"),
    mute,
    roomError,
    h(
      "div",
      { class: "row" },
      h("button", { type: "button", class: "ghost", onclick: () => dialog.close() }, "Cancel"),
      h("button", { type: "submit", id: "room-notify-save" }, "Save"),
    ),
  );
  const dialog = h("dialog", { id: "room-notify", "aria-labelledby": "room-notify-title" }, form);
  document.body.appendChild(dialog);

  function renderRoomButton() {
    const room = client.currentRoomId ? store.rooms.get(client.currentRoomId) : undefined;
    roomButton.hidden = !room;
  }

  function openRoom() {
    const room = client.currentRoomId ? store.rooms.get(client.currentRoomId) : undefined;
    if (!room) return;
    dialog.dataset.roomId = room.id;
    replaceChildren(roomTitle, room.kind === "dm" ? "Notifications for this conversation" : `Notifications in #${room.name}`);
    level.value = room.notification_level || "";
    mute.value = "";
    const muted = isFuture(room.notifications_muted_until, Date.now());
    mute.options[0].textContent = muted ? `Muted until ${new Date(room.notifications_muted_until || "").toLocaleString()} (unmute)` : "Not muted";
    replaceChildren(roomError);
    dialog.showModal();
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    const roomId = dialog.dataset.roomId;
    if (!roomId) return;
    try {
      const room = await client.api.put(`/rooms/${encodeURIComponent(roomId)}/notifications`, {
        level: level.value || null,
        muted_until: untilFrom(mute.value),
      });
      store.mergeRoom(room);
      store.emit("rooms");
      dialog.close();
    } catch (err) {
      if (err instanceof ApiError) replaceChildren(roomError, err.message);
      else onError(err);
    }
  });
}
