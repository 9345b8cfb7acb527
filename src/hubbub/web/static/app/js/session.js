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

const ENDED_KEY = "hubbub.session-ended";

/**
 * Remember, for the sign-in screen after the page reloads, that the server ended the session
 * (signed out elsewhere, or revoked): not the person's own "Sign out". This tab only.
 */
export function noteSessionEnded() {
  try {
    sessionStorage.setItem(ENDED_KEY, "1");
  } catch {
    /* storage refused: the sign-in screen just shows no notice */
  }
}

/** Whether the server ended this tab's last session; reading it forgets it. */
export function takeSessionEnded() {
  try {
    const ended = sessionStorage.getItem(ENDED_KEY) === "1";
    sessionStorage.removeItem(ENDED_KEY);
    return ended;
  } catch {
    return false;
  }
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
