// The sign-in / create-account screen.

import { Api, ApiError } from "../api.js";
import { hasBidiControl } from "../bidi.js";
import { $ } from "../dom.js";
import { isInvisibleName } from "../names.js";

/** @type {Record<string, string>} */
const MESSAGES = {
  invalid_credentials: "Wrong username or password.",
  username_taken: "That username is taken. Try another.",
};

/**
 * @typedef {"signin" | "signup"} Mode
 */

/**
 * @param {{onSignedIn: (session: import("../session.js").Session) => void}} o
 */
export function mountAuth({ onSignedIn }) {
  const form = $("auth-form", HTMLFormElement);
  const tabs = { signin: $("tab-signin"), signup: $("tab-signup") };
  const username = $("auth-username", HTMLInputElement);
  const password = $("auth-password", HTMLInputElement);
  const display = $("auth-display", HTMLInputElement);
  const error = $("auth-error");
  const notice = $("auth-notice");
  const submit = $("auth-submit", HTMLButtonElement);
  const api = new Api({ token: () => null, onUnauthenticated: () => {} });
  /** @type {Mode} */
  let mode = "signin";

  /** @param {Mode} next */
  function setMode(next) {
    mode = next;
    for (const [name, tab] of Object.entries(tabs)) {
      const on = name === mode;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    form.setAttribute("aria-labelledby", tabs[mode].id);
    $("auth-display-row").hidden = mode !== "signup";
    $("auth-hint").hidden = mode !== "signup";
    password.autocomplete = mode === "signup" ? "new-password" : "current-password";
    submit.textContent = mode === "signup" ? "Create account" : "Sign in";
    error.textContent = "";
  }

  tabs.signin.addEventListener("click", () => setMode("signin"));
  tabs.signup.addEventListener("click", () => setMode("signup"));
  for (const tab of Object.values(tabs)) {
    tab.addEventListener("keydown", (e) => {
      if (e.key !== "ArrowLeft" && e.key !== "ArrowRight") return;
      const next = mode === "signin" ? "signup" : "signin";
      setMode(next);
      tabs[next].focus();
    });
  }

  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    error.textContent = "";
    const name = username.value.trim();
    if (name.length < 2 || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      error.textContent = "Usernames are 2–32 letters, digits, _ . or -.";
      username.focus();
      return;
    }
    if (password.value.length < 8) {
      error.textContent = "Passwords are at least 8 characters.";
      password.focus();
      return;
    }
    // The server refuses these too (422); saying so here is clearer.
    const displayName = mode === "signup" ? display.value.trim() : "";
    if (displayName && isInvisibleName(displayName)) {
      error.textContent = "A display name needs at least one visible character.";
      display.focus();
      return;
    }
    if (displayName && hasBidiControl(displayName)) {
      error.textContent = "A display name cannot contain text-direction control characters.";
      display.focus();
      return;
    }
    /** @type {{username: string, password: string, display_name?: string}} */
    const body = { username: name, password: password.value };
    if (displayName) body.display_name = displayName;
    submit.disabled = true;
    try {
      const session = await api.post(mode === "signup" ? "/accounts" : "/sessions", body);
      password.value = "";
      notice.hidden = true;
      onSignedIn({ token: session.token, user: session.user });
    } catch (err) {
      error.textContent =
        err instanceof ApiError
          ? MESSAGES[err.code] || err.message
          : "Cannot reach the server. Check your connection and try again.";
    } finally {
      submit.disabled = false;
    }
  });

  setMode("signin");
  return {
    /** @param {{ended?: boolean}} [o]  ended: the server ended the last session; say so */
    show({ ended = false } = {}) {
      notice.hidden = !ended;
      $("auth").hidden = false;
      username.focus();
    },
    hide() {
      $("auth").hidden = true;
    },
  };
}
