// My account: display name, password, and the sessions signed in as me (account settings).

import { seg } from "./api.js";

export class Account {
  /**
   * @param {object} o
   * @param {import("./api.js").Api} o.api
   * @param {import("./store.js").Store} o.store
   */
  constructor({ api, store }) {
    this.api = api;
    this.store = store;
  }

  /**
   * A new display name; everyone connected hears of it (user.updated), this page at once.
   * @param {string} displayName
   */
  async rename(displayName) {
    /** @type {import("./store.js").User} */
    const user = await this.api.patch("/me", { display_name: displayName });
    this.store.setMe(user);
    return user;
  }

  /**
   * Rejects with ApiError 403 `wrong_password` or 422 `weak_password`. Every other session of
   * mine ends (their pages sign out); this one stays.
   * @param {string} current
   * @param {string} next
   */
  async changePassword(current, next) {
    await this.api.put("/me/password", { current_password: current, new_password: next });
    this.loadSessions().catch(() => {});
  }

  async loadSessions() {
    /** @type {{sessions: import("./store.js").SessionInfo[]}} */
    const { sessions } = await this.api.get("/me/sessions");
    this.store.setSessions(sessions);
  }

  /**
   * Sign one of my other sessions out: its token stops working, its pages sign out.
   * @param {string} id
   */
  async revokeSession(id) {
    await this.api.del(`/me/sessions/${seg(id)}`);
    this.store.dropSession(id);
  }

  /** Sign out every session of mine but this one. */
  async revokeOthers() {
    await this.api.del("/me/sessions");
    await this.loadSessions();
  }
}
