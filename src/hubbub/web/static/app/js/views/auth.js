// The signed-out screen: sign in, create an account (with an invite, where the server asks for
// one: an invite link fills it in), or set a new password from a reset link.

import { Api, ApiError, seg } from "../api.js";
import { hasBidiControl } from "../bidi.js";
import { $ } from "../dom.js";
import { isInvisibleName } from "../names.js";

/** @type {Record<string, "username" | "password" | "both" | "invite" | "display">} */
const FIELD_OF = {
  invalid_credentials: "both",
  username_taken: "username",
  invite_required: "invite",
  invite_invalid: "invite",
};

/** @type {Record<string, string>} */
const MESSAGES = {
  invalid_credentials: "Wrong username or password.",
  username_taken: "That username is taken. Try another.",
  account_deactivated: "This account is deactivated. Ask a server admin if you think that is a mistake.",
  invite_required:
    "This server is invite-only: open the invite link you were sent, or paste its code below.",
  invite_invalid:
    "That invite no longer works: it was used up, it expired or it was revoked. Ask for a new one.",
  registration_closed:
    "This server does not take sign-ups: its admins make accounts. Ask one for yours.",
  reset_expired:
    "This link has expired or was already used. Ask a server admin for a new one.",
};

const NOTICES = {
  ended: "You were signed out: this session was ended elsewhere. Sign in again to continue.",
  invited: "You have an invite: choose a username and a password to create your account.",
  reset: "Your new password is set. Sign in with it.",
};

/**
 * @typedef {"signin" | "signup"} Mode
 * @typedef {{ended?: boolean, invite?: string, reset?: string}} ShowOptions  what to show:
 *   `ended` the server ended the last session; `invite` sign-up with this invite code; `reset`
 *   the "set a new password" form for this reset code
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
  const inviteRow = $("auth-invite-row");
  const invite = $("auth-invite", HTMLInputElement);
  const resetForm = $("reset-form", HTMLFormElement);
  const resetPassword = $("reset-password", HTMLInputElement);
  const resetConfirm = $("reset-confirm", HTMLInputElement);
  const resetError = $("reset-error");
  const resetSubmit = $("reset-submit", HTMLButtonElement);
  const api = new Api({ token: () => null, onUnauthenticated: () => {} });
  /** @type {Mode} */
  let mode = "signin";
  /** @type {string | null} the reset code of the link that was opened */
  let resetCode = null;
  const fields = [username, password, display, invite, resetPassword, resetConfirm];

  /**
   * Show an error under the form, linked to the fields it is about (aria-invalid, and
   * aria-describedby so a screen reader reads it with the field); "" clears every mark.
   * @param {HTMLElement} box  auth-error or reset-error
   * @param {string} text
   * @param {HTMLInputElement[]} [about]
   */
  function showError(box, text, about = []) {
    box.textContent = text;
    for (const f of fields) {
      f.removeAttribute("aria-invalid");
      const ids = (f.getAttribute("aria-describedby") || "").split(" ").filter((x) => x && x !== box.id);
      if (about.includes(f)) ids.push(box.id);
      if (ids.length) f.setAttribute("aria-describedby", ids.join(" "));
      else f.removeAttribute("aria-describedby");
    }
    for (const f of about) f.setAttribute("aria-invalid", "true");
  }

  /** @param {string} text */
  function say(text) {
    notice.textContent = text;
  }

  /** Leave a link's address (#/invite/..., #/reset/...) once it has served. */
  function forgetLink() {
    if (/^#\/(invite|reset)\//.test(location.hash)) history.replaceState(null, "", location.pathname);
  }

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
    inviteRow.hidden = mode !== "signup" || !invite.value;
    password.autocomplete = mode === "signup" ? "new-password" : "current-password";
    submit.textContent = mode === "signup" ? "Create account" : "Sign in";
    showError(error, "");
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
    showError(error, "");
    const name = username.value.trim();
    if (name.length < 2 || !/^[A-Za-z0-9_.-]+$/.test(name)) {
      showError(error, "Usernames are 2–32 letters, digits, _ . or -.", [username]);
      username.focus();
      return;
    }
    if (password.value.length < 8) {
      showError(error, "Passwords are at least 8 characters.", [password]);
      password.focus();
      return;
    }
    // The server refuses these too (422); saying so here is clearer.
    const displayName = mode === "signup" ? display.value.trim() : "";
    if (displayName && isInvisibleName(displayName)) {
      showError(error, "A display name needs at least one visible character.", [display]);
      display.focus();
      return;
    }
    if (displayName && hasBidiControl(displayName)) {
      showError(error, "A display name cannot contain text-direction control characters.", [display]);
      display.focus();
      return;
    }
    /** @type {{username: string, password: string, display_name?: string}} */
    /** @type {{username: string, password: string, display_name?: string, invite_code?: string}} */
    const body = { username: name, password: password.value };
    if (displayName) body.display_name = displayName;
    const code = mode === "signup" ? invite.value.trim() : "";
    if (code) body.invite_code = code;
    submit.disabled = true;
    try {
      const session = await api.post(mode === "signup" ? "/accounts" : "/sessions", body);
      password.value = "";
      say("");
      forgetLink();
      onSignedIn({ token: session.token, user: session.user });
    } catch (err) {
      const which = err instanceof ApiError ? FIELD_OF[err.code] : undefined;
      const about = { username: [username], password: [password], both: [username, password], invite: [invite], display: [display] };
      showError(
        error,
        err instanceof ApiError
          ? MESSAGES[err.code] || err.message
          : "Cannot reach the server. Check your connection and try again.",
        which ? about[which] : [],
      );
      if (err instanceof ApiError && (err.code === "invite_required" || err.code === "invite_invalid")) {
        inviteRow.hidden = false; // somewhere to paste a code
        if (err.code === "invite_required") invite.focus();
      }
    } finally {
      submit.disabled = false;
    }
  });

  // -- set a new password (a reset link) -------------------------------------------------------

  /** @param {boolean} on */
  function showReset(on) {
    resetForm.hidden = !on;
    form.hidden = on;
    $("auth-tabs").hidden = on;
    resetError.textContent = "";
    resetPassword.value = resetConfirm.value = "";
  }

  resetForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    showError(resetError, "");
    if (resetPassword.value.length < 8) {
      showError(resetError, "Passwords are at least 8 characters.", [resetPassword]);
      resetPassword.focus();
      return;
    }
    if (resetPassword.value !== resetConfirm.value) {
      showError(resetError, "The two passwords are not the same.", [resetConfirm]);
      resetConfirm.focus();
      return;
    }
    if (!resetCode) return;
    resetSubmit.disabled = true;
    try {
      await api.post(`/password-resets/${seg(resetCode)}`, { new_password: resetPassword.value });
      resetCode = null;
      forgetLink();
      showReset(false);
      setMode("signin");
      say(NOTICES.reset);
      username.focus();
    } catch (err) {
      resetError.textContent =
        err instanceof ApiError
          ? MESSAGES[err.code] || err.message
          : "Cannot reach the server. Check your connection and try again.";
    } finally {
      resetSubmit.disabled = false;
    }
  });
  $("reset-cancel").addEventListener("click", () => {
    resetCode = null;
    forgetLink();
    showReset(false);
    setMode("signin");
    say("");
    username.focus();
  });

  setMode("signin");
  return {
    /** @param {ShowOptions} [o] */
    show({ ended = false, invite: code, reset } = {}) {
      $("auth").hidden = false;
      say(ended ? NOTICES.ended : code ? NOTICES.invited : "");
      if (reset) {
        resetCode = reset;
        showReset(true);
        resetPassword.focus();
        return;
      }
      showReset(false);
      if (code) {
        invite.value = code;
        setMode("signup");
        username.focus();
        return;
      }
      username.focus();
    },
    hide() {
      $("auth").hidden = true;
    },
  };
}
