// The admin page's Users tab: find accounts by username (a page at a time), promote or demote
// server admins, deactivate (after a confirmation) or reactivate, make password-reset links,
// and create accounts (whose link sets their first password).

import { ApiError } from "../api.js";
import { $, h, replaceChildren } from "../dom.js";
import { formatWhen } from "../format.js";
import { authorName } from "./author.js";
import { linkPanel } from "./link-panel.js";

const SEARCH_DELAY_MS = 200;

/**
 * @typedef {import("../admin.js").AdminUser} AdminUser
 * @typedef {import("../admin.js").UserFilter} UserFilter
 */

/** @param {unknown} err */
const reasonOf = (err) =>
  err instanceof ApiError ? err.message : "Cannot reach the server. Try again in a moment.";

/**
 * @param {object} o
 * @param {import("../admin.js").Admin} o.admin
 * @param {import("../store.js").Store} o.store  for who I am
 * @param {import("./confirm.js").Confirm} o.confirm
 */
export function mountAdminUsers({ admin, store, confirm }) {
  const state = admin.state;
  const rows = $("admin-user-rows");
  const status = $("admin-users-status");
  const more = $("admin-users-more", HTMLButtonElement);
  const prefix = $("admin-user-prefix", HTMLInputElement);
  const filter = $("admin-user-filter", HTMLSelectElement);
  const linkSlot = $("admin-user-link");
  const createForm = $("admin-create-user", HTMLFormElement);
  const newUsername = $("admin-new-username", HTMLInputElement);
  const newDisplay = $("admin-new-display", HTMLInputElement);
  const createError = $("admin-create-error");
  /** @type {number | undefined} */
  let timer;

  /**
   * Run a request; a refusal (409 `last_admin`, say) is said in the status line.
   * @param {() => Promise<void>} fn
   */
  async function act(fn) {
    try {
      await fn();
    } catch (err) {
      status.textContent = reasonOf(err);
    }
  }

  // -- a row ---------------------------------------------------------------------------------

  /**
   * @param {string} label  what the button says
   * @param {string} name  its accessible name (the label, and whom it acts on)
   * @param {() => void} onclick
   * @param {string} [cls]
   */
  const button = (label, name, onclick, cls = "small") =>
    h("button", { type: "button", class: cls, "aria-label": name, dataset: { fk: name }, onclick }, label);

  /** @param {AdminUser} u */
  function userRow(u) {
    const who = `@${u.username}`;
    const self = u.id === store.me?.id;
    return h(
      "tr",
      { dataset: { username: u.username } },
      h(
        "td",
        {},
        authorName(u, { always: true, nameClass: "member-name" }),
        self ? h("span", { class: "tag" }, "you") : null,
        u.created_at ? h("span", { class: "muted small" }, ` · since ${formatWhen(u.created_at)}`) : null,
      ),
      h(
        "td",
        {},
        u.is_admin ? h("span", { class: "tag admin-tag" }, "server admin") : null,
        u.deactivated ? h("span", { class: "tag deactivated-tag" }, "deactivated") : h("span", { class: "muted small" }, " active"),
      ),
      h(
        "td",
        { class: "actions-cell" },
        u.is_admin
          ? button("Remove admin", `Remove admin: ${who}`, () => demote(u))
          : button("Make admin", `Make admin: ${who}`, () => act(() => admin.updateUser(u.username, { admin: true }))),
        u.deactivated
          ? button("Reactivate", `Reactivate ${who}`, () => act(() => admin.updateUser(u.username, { deactivated: false })))
          : button("Deactivate", `Deactivate ${who}`, () => deactivate(u), "small danger"),
        button("Reset link", `Reset link for ${who}`, () =>
          act(async () => {
            await admin.resetLink(u.username);
            linkSlot.querySelector("button")?.focus(); // the link, ready to copy
          }),
        ),
      ),
    );
  }

  /** @param {AdminUser} u */
  async function deactivate(u) {
    const self = u.id === store.me?.id;
    const answer = await confirm.ask({
      title: `Deactivate @${u.username}?`,
      text: "They are signed out everywhere at once and cannot sign in until reactivated. Their messages stay.",
      warning: self ? "This is your own account: this page signs out too." : "",
      confirm: "Deactivate",
    });
    if (answer) await act(() => admin.updateUser(u.username, { deactivated: true }));
  }

  /** @param {AdminUser} u */
  async function demote(u) {
    if (u.id === store.me?.id) {
      const answer = await confirm.ask({
        title: "Stop being a server admin?",
        text: "You lose this page and server-wide moderation at once; another admin can make you one again.",
        confirm: "Remove admin",
      });
      if (!answer) return;
    }
    await act(() => admin.updateUser(u.username, { admin: false }));
  }

  // -- the list and the link ------------------------------------------------------------------

  function render() {
    const fk = /** @type {HTMLElement | null} */ (document.activeElement)?.dataset?.fk;
    replaceChildren(rows, state.users.map(userRow));
    more.hidden = !state.usersNext;
    const n = state.users.length;
    status.textContent = n
      ? `${n}${state.usersNext ? "+" : ""} ${n === 1 ? "account" : "accounts"}${state.query.prefix ? ` starting with “${state.query.prefix}”` : ""}.`
      : "No accounts match.";
    if (fk) /** @type {HTMLElement | null} */ (rows.querySelector(`[data-fk="${CSS.escape(fk)}"]`))?.focus();
  }

  function renderLink() {
    const link = state.link;
    if (!link || link.kind === "invite") {
      linkSlot.replaceChildren();
      return;
    }
    const until = formatWhen(link.expires_at);
    replaceChildren(
      linkSlot,
      link.kind === "created"
        ? linkPanel({
            title: `New account @${link.username}: the link that sets its password`,
            url: link.url,
            note: `Send it to its owner privately. It works once, until ${until}.`,
          })
        : linkPanel({
            title: `Password reset link for @${link.username}`,
            url: link.url,
            note: `Send it to them privately. It works once, until ${until}; setting a password with it signs out all their sessions.`,
          }),
    );
  }

  function search() {
    clearTimeout(timer);
    const query = prefix.value.trim();
    const which = /** @type {UserFilter} */ (filter.value);
    admin.findUsers(query, which).catch((err) => (status.textContent = reasonOf(err)));
  }

  $("admin-user-search").addEventListener("submit", (e) => {
    e.preventDefault();
    search();
  });
  prefix.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(search, SEARCH_DELAY_MS);
  });
  filter.addEventListener("change", search);
  more.addEventListener("click", () => act(() => admin.moreUsers()));

  createForm.addEventListener("submit", async (e) => {
    e.preventDefault();
    createError.textContent = "";
    const username = newUsername.value.trim();
    if (!/^[A-Za-z0-9_.-]{2,32}$/.test(username)) {
      createError.textContent = "Usernames are 2–32 letters, digits, _ . or -.";
      newUsername.focus();
      return;
    }
    try {
      await admin.createUser(username, newDisplay.value.trim());
      createForm.reset();
      linkSlot.querySelector("button")?.focus();
    } catch (err) {
      createError.textContent = reasonOf(err);
    }
  });

  state.addEventListener("users", render);
  state.addEventListener("link", renderLink);

  return {
    /** The tab was shown: the first page of what was searched for last. */
    show() {
      render();
      renderLink();
      search();
    },
  };
}
