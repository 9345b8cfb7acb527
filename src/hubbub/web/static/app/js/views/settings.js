// Account settings: my display name, my password, and where I am signed in (each session but
// this one can be signed out, or all of them at once).

import { ApiError } from "../api.js";
import { hasBidiControl, isolated, withoutBidiControls } from "../bidi.js";
import { $, h, replaceChildren } from "../dom.js";
import { describeAgent, formatWhen } from "../format.js";
import { isInvisibleName } from "../names.js";
import { closeOnCancelButtons } from "./dialogs.js";
import { mountAvatarSettings } from "./avatar-settings.js";
import { mountBotsSettings } from "./bots-settings.js";

/** @typedef {import("../store.js").SessionInfo} SessionInfo */

/**
 * What to say when a request failed.
 * @param {unknown} err
 */
function reasonOf(err) {
  if (!(err instanceof ApiError)) return "Cannot reach the server. Try again in a moment.";
  if (err.code === "rate_limited") return "Too many tries. Wait a minute, then try again.";
  return err.message;
}

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./confirm.js").Confirm} o.confirm
 */
export function mountSettings({ client, confirm }) {
  const store = client.store;
  const account = client.account;
  const dialog = $("settings-dialog", HTMLDialogElement);
  closeOnCancelButtons(dialog);
  const avatar = mountAvatarSettings({ client }); // #15: my picture
  const bots = mountBotsSettings({ client, confirm }); // #19: my bots and their keys
  dialog.addEventListener("close", () => bots.close());

  // -- display name ----------------------------------------------------------------------------

  const profileForm = $("profile-form", HTMLFormElement);
  const display = $("profile-display", HTMLInputElement);
  const profileError = $("profile-error");
  const profileStatus = $("profile-status");

  profileForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    profileError.textContent = profileStatus.textContent = "";
    const name = display.value.trim();
    // The server refuses these too (422); saying so here is clearer.
    const problem = !name
      ? "Type a display name."
      : isInvisibleName(name)
        ? "A display name needs at least one visible character."
        : hasBidiControl(name)
          ? "A display name cannot contain text-direction control characters."
          : "";
    if (problem) {
      profileError.textContent = problem;
      display.focus();
      return;
    }
    try {
      const user = await account.rename(name);
      profileStatus.textContent = `Saved. People now see you as “${withoutBidiControls(user.display_name)}”.`;
    } catch (err) {
      profileError.textContent = reasonOf(err);
    }
  });

  // -- password --------------------------------------------------------------------------------

  const passwordForm = $("password-form", HTMLFormElement);
  const current = $("password-current", HTMLInputElement);
  const next = $("password-new", HTMLInputElement);
  const passwordError = $("password-error");
  const passwordStatus = $("password-status");

  passwordForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    passwordError.textContent = passwordStatus.textContent = "";
    if (!current.value) {
      passwordError.textContent = "Type your current password.";
      current.focus();
      return;
    }
    if (next.value.length < 8) {
      passwordError.textContent = "The new password needs at least 8 characters.";
      next.focus();
      return;
    }
    try {
      await account.changePassword(current.value, next.value);
      current.value = next.value = "";
      passwordStatus.textContent = "Password changed. Your other sessions were signed out.";
    } catch (err) {
      if (err instanceof ApiError && err.code === "wrong_password") {
        passwordError.textContent = "That is not your current password.";
        current.select();
        current.focus();
      } else if (err instanceof ApiError && err.code === "weak_password") {
        passwordError.textContent = `Choose another new password: ${err.message}`;
        next.select();
        next.focus();
      } else {
        passwordError.textContent = reasonOf(err);
      }
    }
  });

  // -- sessions: a row builder, the list renderer ---------------------------------------------

  const list = $("session-list");
  const sessionsStatus = $("sessions-status");
  const revokeOthers = $("sessions-revoke-others", HTMLButtonElement);

  /** @param {SessionInfo} s */
  function sessionRow(s) {
    const what = describeAgent(s.user_agent);
    return h(
      "li",
      { dataset: { sessionId: s.id } },
      h(
        "span",
        { class: "who" },
        h("strong", { title: s.user_agent || "" }, isolated(what)),
        s.current ? h("span", { class: "tag admin-tag" }, "this device") : null,
        h(
          "span",
          { class: "detail" },
          `Signed in ${formatWhen(s.created_at)} · last active ${formatWhen(s.last_used_at)}`,
        ),
      ),
      s.current
        ? null
        : h(
            "button",
            {
              type: "button",
              class: "small",
              "aria-label": `Sign out ${withoutBidiControls(what)}, last active ${formatWhen(s.last_used_at)}`,
              onclick: () => revoke(s, what),
            },
            "Sign out",
          ),
    );
  }

  function renderSessions() {
    const sessions = store.sessions;
    if (!sessions) {
      replaceChildren(list, h("li", { class: "empty" }, "Loading…"));
      return;
    }
    // This device first, then the others, most recently used first (as the server sorts them).
    replaceChildren(list, [...sessions].sort((a, b) => Number(b.current) - Number(a.current)).map(sessionRow));
    revokeOthers.disabled = !sessions.some((s) => !s.current);
  }

  /**
   * @param {SessionInfo} s
   * @param {string} what
   */
  async function revoke(s, what) {
    sessionsStatus.textContent = "";
    try {
      await account.revokeSession(s.id);
      sessionsStatus.textContent = `Signed out ${withoutBidiControls(what)}.`;
      revokeOthers.focus(); // the row (and its button) is gone
    } catch (err) {
      sessionsStatus.textContent = reasonOf(err);
    }
  }

  revokeOthers.addEventListener("click", async () => {
    sessionsStatus.textContent = "";
    try {
      await account.revokeOthers();
      sessionsStatus.textContent = "Every other session is signed out.";
    } catch (err) {
      sessionsStatus.textContent = reasonOf(err);
    }
  });

  store.addEventListener("sessions", renderSessions);

  return {
    open() {
      const me = store.me;
      $("settings-username").textContent = me ? `@${me.username}` : "";
      display.value = me ? me.display_name : "";
      for (const el of [profileError, profileStatus, passwordError, passwordStatus, sessionsStatus]) {
        el.textContent = "";
      }
      current.value = next.value = "";
      avatar.reset();
      bots.reset();
      renderSessions();
      dialog.showModal();
      display.focus();
      account.loadSessions().catch((err) => (sessionsStatus.textContent = reasonOf(err)));
    },
  };
}
