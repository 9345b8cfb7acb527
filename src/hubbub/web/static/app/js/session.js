// The signed-in session, remembered across reloads in localStorage.

const KEY = "hubbub.session";

/**
 * @typedef {object} Session
 * @property {string} token
 * @property {import("./store.js").User} user
 */

/**
 * The remembered session, or null.
 * @returns {Session | null}
 */
export function loadSession() {
  try {
    const value = JSON.parse(localStorage.getItem(KEY) || "null");
    return value && typeof value.token === "string" ? value : null;
  } catch {
    return null;
  }
}

/** @param {Session} session */
export function saveSession(session) {
  localStorage.setItem(KEY, JSON.stringify(session));
}

export function clearSession() {
  localStorage.removeItem(KEY);
}

/**
 * Call `fn` when another tab signs in or out.
 * @param {(session: Session | null) => void} fn
 */
export function onSessionChange(fn) {
  window.addEventListener("storage", (e) => {
    if (e.key === KEY || e.key === null) fn(loadSession());
  });
}
