// Server administration (server admins only; the server answers others 403 `not_allowed`):
// accounts, invites and the audit log. AdminState holds what the admin page shows and is the
// only thing that changes it; Admin asks the API and hands the answers to it.

import { seg } from "./api.js";

export const USERS_PAGE = 25;
export const AUDIT_PAGE = 25;

/**
 * @typedef {import("./store.js").User & {deactivated: boolean}} AdminUser
 *
 * @typedef {object} Invite
 * @property {string} code
 * @property {string} url
 * @property {number} max_uses
 * @property {number} uses
 * @property {string} expires_at
 * @property {boolean} revoked
 *
 * @typedef {object} AuditEntry
 * @property {string} id
 * @property {string} at
 * @property {string | null} actor  null: the command line
 * @property {string} action
 * @property {string} target
 * @property {string} reason
 *
 * A link to hand to someone: a password reset, a new account's first password, an invite.
 * @typedef {object} Link
 * @property {"reset" | "created" | "invite"} kind
 * @property {string} username  whose (empty for an invite)
 * @property {string} url
 * @property {string} expires_at
 *
 * @typedef {"" | "active" | "deactivated"} UserFilter
 */

export class AdminState extends EventTarget {
  constructor() {
    super();
    /** @type {AdminUser[]} the users found so far, by username */
    this.users = [];
    /** @type {{prefix: string, filter: UserFilter}} what they were found by */
    this.query = { prefix: "", filter: "" };
    /** @type {string | null} where the next page starts; null: no more */
    this.usersNext = null;
    /** @type {Invite[] | null} */
    this.invites = null;
    /** @type {AuditEntry[]} newest first */
    this.audit = [];
    /** @type {string | null} */
    this.auditNext = null;
    /** @type {Link | null} the link made last, until another is made */
    this.link = null;
  }

  /** @param {"users" | "invites" | "audit" | "link"} kind */
  emit(kind) {
    this.dispatchEvent(new CustomEvent(kind));
  }

  /**
   * @param {{prefix: string, filter: UserFilter}} query
   * @param {AdminUser[]} users  the first page
   * @param {string | null} next
   */
  setUsers(query, users, next) {
    this.query = query;
    this.users = users;
    this.usersNext = next;
    this.emit("users");
  }

  /**
   * @param {AdminUser[]} users  the next page
   * @param {string | null} next
   */
  addUsers(users, next) {
    const seen = new Set(this.users.map((u) => u.id));
    this.users = [...this.users, ...users.filter((u) => !seen.has(u.id))];
    this.usersNext = next;
    this.emit("users");
  }

  /**
   * One account as it is now (promoted, deactivated, ...), in place.
   * @param {AdminUser} user
   */
  putUser(user) {
    this.users = this.users.map((u) => (u.id === user.id ? user : u));
    this.emit("users");
  }

  /** @param {Invite[]} invites */
  setInvites(invites) {
    this.invites = invites;
    this.emit("invites");
  }

  /**
   * @param {AuditEntry[]} entries
   * @param {string | null} next
   * @param {boolean} older  a page after those held (else: the newest page, from scratch)
   */
  setAudit(entries, next, older) {
    this.audit = older ? [...this.audit, ...entries] : entries;
    this.auditNext = next;
    this.emit("audit");
  }

  /** @param {Link | null} link */
  setLink(link) {
    this.link = link;
    this.emit("link");
  }
}

export class Admin {
  /** @param {import("./api.js").Api} api */
  constructor(api) {
    this.api = api;
    this.state = new AdminState();
  }

  /**
   * @param {{prefix: string, filter: UserFilter}} query
   * @param {string | null} cursor
   */
  _usersPath({ prefix, filter }, cursor) {
    const q = new URLSearchParams({ prefix, limit: String(USERS_PAGE) });
    if (filter) q.set("deactivated", String(filter === "deactivated"));
    if (cursor) q.set("cursor", cursor);
    return `/admin/users?${q}`;
  }

  /**
   * The first page of accounts whose username starts with `prefix`.
   * @param {string} prefix
   * @param {UserFilter} filter
   */
  async findUsers(prefix, filter) {
    const query = { prefix, filter };
    const page = await this.api.get(this._usersPath(query, null));
    this.state.setUsers(query, page.users, page.next_cursor);
  }

  async moreUsers() {
    const { query, usersNext } = this.state;
    if (!usersNext) return;
    const page = await this.api.get(this._usersPath(query, usersNext));
    this.state.addUsers(page.users, page.next_cursor);
  }

  /**
   * Promote or demote, deactivate or reactivate (409 `last_admin` keeps the last admin).
   * @param {string} username
   * @param {{admin?: boolean, deactivated?: boolean}} change
   */
  async updateUser(username, change) {
    this.state.putUser(await this.api.patch(`/admin/users/${seg(username)}`, change));
  }

  /** @param {string} username */
  async resetLink(username) {
    const link = await this.api.post(`/admin/users/${seg(username)}/password-reset`);
    this.state.setLink({ kind: "reset", username, url: link.url, expires_at: link.expires_at });
  }

  /**
   * A new account, without a password: its link sets one.
   * @param {string} username
   * @param {string} displayName  may be empty
   */
  async createUser(username, displayName) {
    /** @type {{username: string, display_name?: string}} */
    const body = { username };
    if (displayName) body.display_name = displayName;
    const { user, reset } = await this.api.post("/admin/users", body);
    this.state.setLink({ kind: "created", username: user.username, url: reset.url, expires_at: reset.expires_at });
    await this.findUsers(this.state.query.prefix, this.state.query.filter);
  }

  async loadInvites() {
    this.state.setInvites((await this.api.get("/invites")).invites);
  }

  /**
   * @param {number} maxUses
   * @param {number} hours
   * @returns {Promise<Invite>}
   */
  async createInvite(maxUses, hours) {
    /** @type {Invite} */
    const invite = await this.api.post("/invites", { max_uses: maxUses, expires_in_hours: hours });
    this.state.setLink({ kind: "invite", username: "", url: invite.url, expires_at: invite.expires_at });
    await this.loadInvites();
    return invite;
  }

  /** @param {string} code */
  async revokeInvite(code) {
    await this.api.del(`/invites/${seg(code)}`);
    await this.loadInvites();
  }

  /** The newest entries (from scratch), or with `older` the page after those held. */
  async loadAudit(older = false) {
    const q = new URLSearchParams({ limit: String(AUDIT_PAGE) });
    const before = this.state.auditNext;
    if (older) {
      if (!before) return;
      q.set("before", before);
    }
    const page = await this.api.get(`/admin/audit?${q}`);
    this.state.setAudit(page.entries, page.next_before, older);
  }
}
