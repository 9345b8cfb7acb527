// Managing a room: its name and topic, its members' roles and mutes, removals and bans (room
// settings). The server decides who may (roles.js mirrors it); the live events that follow
// (room.updated, member.updated, member.left) keep every page, this one too, up to date.

import { seg } from "./api.js";

/**
 * @typedef {import("./store.js").Room} Room
 * @typedef {import("./store.js").Member} Member
 */

export class Moderation {
  /**
   * @param {object} o
   * @param {import("./api.js").Api} o.api
   * @param {import("./store.js").Store} o.store
   * @param {(roomId: string) => Promise<Member[]>} o.members  fetch a room's members into the store
   */
  constructor({ api, store, members }) {
    this.api = api;
    this.store = store;
    this.members = members;
  }

  /**
   * @param {string} roomId
   * @param {{name?: string, topic?: string}} changes
   * @returns {Promise<Room>}
   */
  async updateRoom(roomId, changes) {
    const room = await this.api.patch(`/rooms/${seg(roomId)}`, changes);
    this.store.mergeRoom(room);
    this.store.emit("rooms");
    return room;
  }

  /**
   * @param {string} roomId
   * @param {string} username
   * @param {{role?: "admin" | "member", muted?: boolean}} change
   */
  async updateMember(roomId, username, change) {
    await this.api.put(`/rooms/${seg(roomId)}/members/${seg(username)}`, change);
    await this.members(roomId);
  }

  /**
   * @param {string} roomId
   * @param {string} username
   */
  async remove(roomId, username) {
    await this.api.del(`/rooms/${seg(roomId)}/members/${seg(username)}`);
    await this.members(roomId);
  }

  /**
   * Ban someone (a member or not): a member leaves the room at once.
   * @param {string} roomId
   * @param {string} username
   * @param {string} reason  may be empty
   */
  async ban(roomId, username, reason) {
    await this.api.put(`/rooms/${seg(roomId)}/bans/${seg(username)}`, { reason });
    await Promise.all([this.members(roomId), this.loadBans(roomId)]);
  }

  /**
   * @param {string} roomId
   * @param {string} username
   */
  async unban(roomId, username) {
    await this.api.del(`/rooms/${seg(roomId)}/bans/${seg(username)}`);
    await this.loadBans(roomId);
  }

  /** @param {string} roomId */
  async loadBans(roomId) {
    /** @type {{bans: import("./store.js").Ban[]}} */
    const { bans } = await this.api.get(`/rooms/${seg(roomId)}/bans`);
    this.store.setBans(roomId, bans);
  }
}
