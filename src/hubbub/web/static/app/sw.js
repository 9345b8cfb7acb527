// The service worker: keeps the app shell (the page and this build's files) so that the client
// opens without the network, showing its offline banner, and can be installed as an app. The
// server serves this file at /sw.js with BUILD and SHELL filled in (web/client.py), so each
// build installs anew and drops the cache of the one before. The API is never cached.

const BUILD = "__BUILD__";
const SHELL = ["__SHELL__"];
const CACHE = `hubbub-shell-${BUILD}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((cache) => cache.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith("hubbub-shell-") && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && url.pathname === "/") {
    // The page: fresh from the network when there is one (it names the current build), else
    // the cached one.
    event.respondWith(
      fetch(request).catch(() => caches.open(CACHE).then((cache) => cache.match("/")).then((r) => r || Response.error())),
    );
  } else if (url.pathname.startsWith(`/app/${BUILD}/`)) {
    // This build's files never change: from the cache, else the network.
    event.respondWith(caches.open(CACHE).then((cache) => cache.match(request)).then((r) => r || fetch(request)));
  }
});

// -- Web Push (#18) ---------------------------------------------------------------------------
// The server's payload (docs/push.md): {type, room_id, room_name, room_kind, author,
// message_id, seq, thread_root, reason, url, preview?}. `preview` is absent when the user turned
// message text in notifications off.

const ICON = "/static/app/icon-192.png";

/**
 * The notification a push shows: titled with the room (and author), the preview as its body,
 * tagged per room so a newer one replaces an older one.
 * @param {any} data
 * @returns {{title: string, options: NotificationOptions & {renotify?: boolean}}}
 */
function notificationFor(data) {
  const author = typeof data.author === "string" && data.author ? data.author : "Someone";
  const room = typeof data.room_name === "string" && data.room_name ? data.room_name : "hubbub";
  const where = data.room_kind === "dm" ? author : `${author} in #${room}`;
  const title = data.reason === "mention" ? `${where} mentioned you` : where;
  const body = typeof data.preview === "string" ? data.preview || "(a file)" : "New message";
  const url = typeof data.url === "string" && data.url.startsWith("/") ? data.url : "/";
  return {
    title,
    options: {
      body,
      tag: `room:${data.room_id || ""}`,
      renotify: true,
      icon: ICON,
      badge: ICON,
      data: { url, room_id: data.room_id || null, seq: data.seq || null, message_id: data.message_id || null },
    },
  };
}

self.addEventListener("push", (event) => {
  let data = {};
  try {
    data = event.data ? event.data.json() : {};
  } catch {
    data = {}; // not JSON: still show that something came
  }
  const { title, options } = notificationFor(data);
  event.waitUntil(self.registration.showNotification(title, options));
});

/**
 * Open hubbub at `url` (a path of this origin, e.g. /#/r/<room>/<seq>): focus a window that has
 * hubbub open and tell it where to go (the page moves its own location: the app routes by the
 * hash), or open a new window there.
 * @param {string} url
 */
async function openHubbub(url) {
  const target = new URL(url || "/", self.location.origin);
  if (target.origin !== self.location.origin) return null;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const open = windows.find((w) => new URL(w.url).origin === self.location.origin);
  if (open) {
    open.postMessage({ type: "hubbub.open", url: target.pathname + target.hash });
    return open.focus().catch(() => open);
  }
  return self.clients.openWindow(target.href);
}
self.openHubbub = openHubbub; // what notificationclick does, callable by tests

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const data = event.notification.data || {};
  event.waitUntil(openHubbub(typeof data.url === "string" ? data.url : "/"));
});
