// Entry point: the signed-out screen or the chat, and the wiring between the views.
//
// Addresses: #/room/<id> the room on screen; #/r/<id>/<seq> a message's permalink (its room,
// opened around it and scrolled to it: where a search result leads too); #/admin the admin page (server admins);
// #/invite/<code> and #/reset/<code> (where invite and password-reset links lead) the
// signed-out screen's sign-up with that invite, or its "set a new password" form.

import { ApiError } from "./api.js";
import { visibleText, withoutBidiControls } from "./bidi.js";
import { Client } from "./client.js";
import { $, replaceChildren } from "./dom.js";
import { fillIcons } from "./icons.js";
import { managesRoom } from "./roles.js";
import {
  clearSession,
  loadSession,
  noteSessionEnded,
  onSessionChange,
  saveSession,
  takeSessionEnded,
} from "./session.js";
import { backoffDelay } from "./stream.js";
import { mountConversations } from "./views/conversations.js";
import { mountAdminPage } from "./views/admin-page.js";
import { mountAuth } from "./views/auth.js";
import { mountBanner, mountNotice, toast } from "./views/banner.js";
import { mountComposer } from "./views/composer.js";
import { mountConfirm } from "./views/confirm.js";
import { mountDmDialog, mountRoomDialog } from "./views/dialogs.js";
import { mountLeave } from "./views/leave.js";
import { mountMembers } from "./views/members.js";
import { mountNotifications } from "./views/notifications.js";
import { mountRoomSettings } from "./views/room-settings.js";
import { showRoomPicture } from "./views/room-picture.js";
import { mountSearch } from "./views/search.js";
import { mountSettings } from "./views/settings.js";
import { mountSidebar } from "./views/sidebar.js";
import { mountTimeline } from "./views/timeline.js";

const LOBBY = "general";

fillIcons(); // the page's icon buttons (index.html marks them data-icon)

// The service worker keeps the app shell, so the client opens (and says it is offline) without
// the network, and browsers offer to install it. Best effort: the page works without it.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js").catch(() => {});
  // A click on a push notification (sw.js) asks an open page to show the message there.
  navigator.serviceWorker.addEventListener("message", (e) => {
    const msg = e.data;
    if (msg && msg.type === "hubbub.open" && typeof msg.url === "string" && msg.url.startsWith("/#/")) {
      location.hash = msg.url.slice(1);
    }
  });
}

/** @type {{token: string, destroy: () => void} | null} the chat views of the signed-in session */
let chat = null;

/** @param {unknown} err */
function showError(err) {
  const e = /** @type {{retryable?: boolean, message?: string} | null | undefined} */ (err);
  if (err instanceof ApiError) toast(err.message);
  else if (e && e.retryable) toast("Cannot reach the server. Try again in a moment.");
  else toast(e && e.message ? e.message : "Something went wrong.");
}

const auth = mountAuth({
  onSignedIn(session) {
    saveSession(session);
    auth.hide();
    startChat(session);
  },
});

/**
 * Signed out: by the button, in another tab, or by the server (the session was signed out
 * elsewhere or revoked: its stream closed with 4401, or a request got 401). The views are
 * mounted once per page, so the cleanest clean slate is a fresh page; the sign-in screen after
 * it says "You were signed out" when the server ended the session.
 * @param {{ended?: boolean}} [how]
 */
function signedOut({ ended = false } = {}) {
  if (ended) noteSessionEnded();
  clearSession();
  if (chat) {
    chat.destroy();
    chat = null;
    location.reload();
    return;
  }
  $("chat").hidden = true;
  auth.show({ ended: takeSessionEnded(), ...linkFromHash() });
}

/** The room in the address (#/room/<id>, or a permalink's), so a reload or a link returns to it. */
function roomFromHash() {
  const match = location.hash.match(/^#\/room\/(.+)$/) || location.hash.match(/^#\/r\/([^/]+)\/\d+$/);
  return match ? decodeURIComponent(match[1]) : null;
}

/** The message a permalink (#/r/<room id>/<seq>) points to, or null. */
function seqFromHash() {
  const match = location.hash.match(/^#\/r\/[^/]+\/(\d+)$/);
  return match ? Number(match[1]) : null;
}

/**
 * An invite or password-reset link's code in the address (#/invite/<code>, #/reset/<code>).
 * @returns {{invite?: string, reset?: string}}
 */
function linkFromHash() {
  const match = location.hash.match(/^#\/(invite|reset)\/([^/?#]+)$/);
  if (!match) return {};
  const code = decodeURIComponent(match[2]);
  return match[1] === "invite" ? { invite: code } : { reset: code };
}

/** @param {import("./session.js").Session} session */
function startChat(session) {
  const client = new Client(session, { onSignedOut: () => signedOut({ ended: true }) });
  const banner = mountBanner({ client });
  const confirm = mountConfirm();
  const leave = mountLeave({ client, confirm, onLeft: () => select(LOBBY), onError: showError });
  const composer = mountComposer({ client, onError: showError });
  const timeline = mountTimeline({ client, composer, onError: showError });
  const members = mountMembers({ client, leave, onError: showError });
  const sidebar = mountSidebar({ client, onSelect: (id) => select(id, true), onError: showError });
  const roomDialog = mountRoomDialog({ client, onCreated: (id) => select(id, true) });
  const dmDialog = mountDmDialog({ client, onOpened: (id) => select(id, true) });
  const settings = mountSettings({ client, confirm });
  const roomSettings = mountRoomSettings({ client, confirm, leave });
  const adminPage = mountAdminPage({ client, confirm, onClose: () => select(client.currentRoomId || LOBBY, true) });
  mountConversations({ client, onSelect: (id, at) => select(id, false, at ?? null), onError: showError }); // #17
  mountSearch({ client, confirm, onOpen: (id, at) => select(id, false, at), onError: showError }); // #16
  mountNotifications({ client, onOpen: (id, at) => select(id, false, at), onError: showError }); // #18
  const store = client.store;
  let alive = true;
  mountNotice({ store });

  $("chat").hidden = false;

  /** Who I am, in the sidebar; the admin page's button for server admins. */
  function showMe() {
    const me = store.me || session.user;
    replaceChildren($("me"), visibleText(me.display_name || me.username));
    $("me").title = `Signed in as ${withoutBidiControls(me.display_name || me.username)} (@${me.username})`;
    $("open-admin").hidden = !me.is_admin;
    if (!me.is_admin && adminPage.shown) hideAdmin();
  }
  showMe();

  function showAdmin() {
    if (!store.me?.is_admin) return;
    $("chat").classList.add("admin-mode");
    $("chat").classList.remove("show-sidebar");
    $("open-admin").setAttribute("aria-current", "page");
    if (location.hash !== "#/admin") history.replaceState(null, "", "#/admin");
    adminPage.show();
  }

  function hideAdmin() {
    $("chat").classList.remove("admin-mode");
    $("open-admin").removeAttribute("aria-current");
    adminPage.hide();
  }

  /** @param {import("./store.js").Room | null | undefined} room */
  function showHeader(room) {
    $("open-room-settings").hidden = !managesRoom(room, store.me);
    const partner = store.dmPartner(room);
    const title = room ? (partner ? partner : room.name) : "Welcome";
    replaceChildren($("room-title"), visibleText(title));
    $("room-title").title = withoutBidiControls(title); // whole, where a narrow header cuts it
    showRoomPicture($("room-picture"), room); // #19 web client
    replaceChildren(
      $("room-topic"),
      visibleText(
        room
          ? room.kind === "dm"
            ? `Direct messages with ${partner}`
            : room.topic || (room.visibility === "private" ? "Private room" : "Public room")
          : "",
      ),
    );
  }

  /**
   * Open a room: header, composer, members, and its timeline (first page on first visit).
   * @param {string} id
   * @param {boolean} [focus]  put focus in the composer
   * @param {number | null} [at]  a message to open the room at (a permalink)
   */
  async function select(id, focus = false, at = null) {
    const room = store.rooms.get(id) || store.rooms.get(LOBBY) || store.rooms.values().next().value;
    if (!room) {
      timeline.clear();
      composer.setRoom(null);
      members.setRoom(null);
      showHeader(null);
      return;
    }
    id = room.id;
    hideAdmin();
    const target = at ? `#/r/${encodeURIComponent(id)}/${at}` : `#/room/${encodeURIComponent(id)}`;
    if (location.hash !== target) history.replaceState(null, "", target);
    client.currentRoomId = id;
    $("chat").classList.remove("show-sidebar");
    showHeader(room);
    composer.setRoom(id, store.dmPartner(room) || `#${room.name}`);
    members.setRoom(id);
    timeline.show(id);
    sidebar.render();
    if (focus) composer.focus();
    try {
      await client.openRoom(id, at);
      if (client.currentRoomId === id) timeline.settle(at);
    } catch (err) {
      showError(err);
    }
  }

  // State was reloaded from scratch: show the room on screen again from its newest page.
  client.addEventListener("reset", () => {
    if (client.currentRoomId) select(client.currentRoomId);
  });

  store.addEventListener("rooms", () => {
    const id = client.currentRoomId;
    if (id && !store.rooms.has(id)) select(LOBBY); // I left, or was removed
    else if (id) showHeader(store.rooms.get(id));
  });
  store.addEventListener("me", () => {
    showMe();
    saveSession({ token: session.token, user: store.me || session.user }); // a reload shows it at once
    showHeader(client.currentRoomId ? store.rooms.get(client.currentRoomId) : null);
  });
  window.addEventListener("hashchange", () => {
    if (location.hash === "#/admin") return showAdmin();
    const id = roomFromHash();
    const at = seqFromHash();
    if (id && at && store.rooms.has(id)) select(id, false, at);
    else if (id && (id !== client.currentRoomId || adminPage.shown) && store.rooms.has(id)) select(id);
  });

  $("sign-out").addEventListener("click", async () => {
    await client.signOut();
    signedOut();
  });
  $("open-settings").addEventListener("click", () => settings.open());
  $("open-admin").addEventListener("click", showAdmin);
  $("open-room-settings").addEventListener("click", () => {
    if (client.currentRoomId) roomSettings.open(client.currentRoomId);
  });
  $("new-room").addEventListener("click", () => roomDialog.open());
  $("new-dm").addEventListener("click", () => dmDialog.open());
  $("show-sidebar").addEventListener("click", () => $("chat").classList.toggle("show-sidebar"));
  // Small screens: a tap outside the side menu or the members sheet closes it.
  $("backdrop").addEventListener("click", () => {
    $("chat").classList.remove("show-sidebar");
    members.close();
  });

  // Unsent messages survive a reload (they are resumed), but closing the tab for good would
  // leave them waiting until the next visit: ask first. Drafts are written before leaving.
  /** @param {BeforeUnloadEvent} e */
  function beforeUnload(e) {
    client.drafts.flush();
    if (alive && client.outbox.unsent() > 0) {
      e.preventDefault();
      e.returnValue = "";
    }
  }
  window.addEventListener("beforeunload", beforeUnload);
  window.addEventListener("pagehide", () => client.drafts.flush());
  // Messages waiting for the network go now (the stream reconnects by itself).
  window.addEventListener("online", () => client.outbox.retryAll());

  // Start, retrying with back-off while the server cannot be reached.
  (async function boot(attempt = 0) {
    try {
      const wanted = location.hash;
      await client.start();
      if (!alive) return;
      // Focus in the composer, ready to type (not on a phone, where it opens the keyboard).
      await select(roomFromHash() || LOBBY, matchMedia("(pointer: fine)").matches, seqFromHash());
      if (wanted === "#/admin") showAdmin();
    } catch (err) {
      if (!alive) return;
      if (err instanceof ApiError && err.status === 401) return; // signedOut() already ran
      banner.hide();
      $("banner").hidden = false;
      $("banner-text").textContent = "Cannot reach the server. Retrying…";
      setTimeout(() => boot(attempt + 1), backoffDelay(attempt));
      return;
    }
    $("banner").hidden = true;
  })();

  chat = {
    token: session.token,
    destroy() {
      alive = false;
      window.removeEventListener("beforeunload", beforeUnload);
      client.stop();
    },
  };
}

// Another tab signed out (or in as someone else): follow it.
onSessionChange((session) => {
  if (!session) signedOut();
  else if (!chat || session.token !== chat.token) location.reload();
});

// An invite or reset link opened while the signed-out screen shows.
window.addEventListener("hashchange", () => {
  const link = linkFromHash();
  if (!chat && (link.invite || link.reset)) auth.show(link);
});

const saved = loadSession();
const link = linkFromHash();
if (saved) {
  $("auth").hidden = true;
  startChat(saved);
  if (link.invite || link.reset) {
    toast(
      `You are signed in as @${saved.user.username}. To use this ${link.invite ? "invite" : "password reset"} link, sign out, then open it again.`,
    );
  }
} else {
  auth.show({ ended: takeSessionEnded(), ...link });
}
