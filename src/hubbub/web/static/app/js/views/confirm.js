// One confirmation dialog for what is not undone in a click: leaving a room, removing or
// banning someone, deactivating an account. `ask` opens it and resolves to {reason} when
// confirmed (the reason typed, if it asked for one), or null when cancelled (Escape too).

import { $ } from "../dom.js";

/**
 * @typedef {object} Question
 * @property {string} title
 * @property {string} text
 * @property {string} confirm  the confirming button's label, a verb: "Leave", "Ban"
 * @property {string} [warning]  said apart, in a box: what cannot be undone
 * @property {boolean} [reason]  ask for an optional reason
 */

export function mountConfirm() {
  const dialog = $("confirm-dialog", HTMLDialogElement);
  const form = $("confirm-form", HTMLFormElement);
  const reasonRow = $("confirm-reason-row");
  const reason = $("confirm-reason", HTMLInputElement);
  const ok = $("confirm-ok", HTMLButtonElement);
  /** @type {((answer: {reason: string} | null) => void) | null} */
  let settle = null;

  /** @param {{reason: string} | null} answer */
  function finish(answer) {
    const done = settle;
    settle = null;
    if (dialog.open) dialog.close();
    if (done) done(answer);
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    finish({ reason: reason.value.trim() });
  });
  for (const button of dialog.querySelectorAll("[data-close]")) {
    button.addEventListener("click", () => finish(null));
  }
  dialog.addEventListener("close", () => finish(null));

  return {
    /**
     * @param {Question} q
     * @returns {Promise<{reason: string} | null>}
     */
    ask(q) {
      if (settle) finish(null);
      $("confirm-title").textContent = q.title;
      $("confirm-text").textContent = q.text;
      $("confirm-warning").textContent = q.warning || "";
      reasonRow.hidden = !q.reason;
      reason.value = "";
      ok.textContent = q.confirm;
      dialog.showModal();
      (q.reason ? reason : ok).focus();
      return new Promise((resolve) => (settle = resolve));
    },
  };
}

/** @typedef {ReturnType<typeof mountConfirm>} Confirm */
