// The connection banner (offline / reconnecting, with "Retry now"), short error toasts, and the
// notice that stays until dismissed (removed or banned from a room).

import { $, h, replaceChildren } from "../dom.js";

const SHOW_AFTER_MS = 600; // brief blips (a fast reconnect) do not flash a banner

/** @typedef {import("../stream.js").StreamStatus} StreamStatus */

/** @param {{client: import("../client.js").Client}} o */
export function mountBanner({ client }) {
  const banner = $("banner");
  const text = $("banner-text");
  const retry = $("banner-retry");
  /** @type {number | undefined} */
  let showTimer;
  /** @type {number | undefined} */
  let countdown;
  let wasDown = false;

  retry.addEventListener("click", () => client.stream.reconnectNow());

  /** @param {StreamStatus} s */
  function describe(s) {
    if (s.state === "offline") return "You are offline. Messages will send when the connection returns.";
    if (s.state === "resetting") return "Catching up…";
    if (s.state === "connecting") return "Connecting…";
    const left = s.retryAt ? Math.max(0, Math.ceil((s.retryAt - Date.now()) / 1000)) : 0;
    if (s.reason === "too-many-streams") {
      const when = left > 0 ? `in ${left} s` : "now";
      return `Too many connections are open for your account (close some tabs). Retrying ${when}…`;
    }
    return left > 0 ? `Connection lost. Reconnecting in ${left} s…` : "Connection lost. Reconnecting…";
  }

  /** @param {StreamStatus} s */
  function update(s) {
    // For styles and tests: <html data-connection="live" data-transport="websocket">.
    document.documentElement.dataset.connection = s.state;
    document.documentElement.dataset.transport = s.transport;
    clearInterval(countdown);
    if (s.state === "live" || s.state === "stopped") {
      clearTimeout(showTimer);
      showTimer = undefined;
      if (wasDown && s.state === "live") {
        banner.dataset.state = "live";
        text.textContent = s.transport === "long-poll" ? "Connected (long-polling)." : "Connected.";
        retry.hidden = true;
        banner.hidden = false;
        setTimeout(() => {
          if (client.status.state === "live") banner.hidden = true;
        }, 1500);
      } else {
        banner.hidden = true;
      }
      wasDown = false;
      return;
    }
    const reveal = () => {
      wasDown = true;
      banner.dataset.state = s.state;
      text.textContent = describe(s);
      retry.hidden = !(s.state === "reconnecting" || s.state === "offline");
      banner.hidden = false;
    };
    if (banner.hidden && !wasDown && s.state !== "offline") {
      clearTimeout(showTimer);
      showTimer = setTimeout(reveal, SHOW_AFTER_MS);
    } else {
      reveal();
    }
    if (s.retryAt) countdown = setInterval(() => (text.textContent = describe(s)), 1000);
  }

  client.addEventListener("status", (e) => update(/** @type {CustomEvent<StreamStatus>} */ (e).detail));
  return {
    hide() {
      clearTimeout(showTimer);
      clearInterval(countdown);
      banner.hidden = true;
      wasDown = false;
    },
  };
}

/** @param {string} message */
export function toast(message) {
  const box = $("toasts");
  const el = h("div", { class: "toast" }, message);
  box.append(el);
  setTimeout(() => el.remove(), 5000);
}

/**
 * The store's notice (see Store.notice), above the timeline until dismissed.
 * @param {{store: import("../store.js").Store}} o
 */
export function mountNotice({ store }) {
  const box = $("room-notice");

  function render() {
    const notice = store.notice;
    if (!notice) {
      box.replaceChildren();
      return;
    }
    replaceChildren(
      box,
      h("span", { class: "grow" }, notice.text),
      h("button", { type: "button", class: "link-button", onclick: () => store.dismissNotice() }, "Dismiss"),
    );
  }

  store.addEventListener("notice", render);
  render();
}
