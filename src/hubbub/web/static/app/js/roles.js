// Who may do what in a room, as the server decides it (services/access.py), so the client only
// offers what will work. The server still checks every request.
//
// Ranks: member < admin < owner, and above them a server admin in a public room or the lobby
// (server admins moderate those; a private room or a DM is its members' business alone).
// Removing, banning or muting someone needs a rank above theirs (a server admin's counts in
// public rooms); granting or taking away admin needs the owner's rank; nobody changes the
// owner's role.

/**
 * @typedef {import("./store.js").Room} Room
 * @typedef {import("./store.js").User} User
 * @typedef {"owner" | "admin" | "member"} Role
 */

/** @type {Record<string, number>} */
const RANKS = { member: 1, admin: 2, owner: 3 };
const SERVER_ADMIN = 4;

/**
 * A public room (the lobby included), not a DM.
 * @param {Pick<Room, "visibility" | "kind">} room
 */
export function isPublicRoom(room) {
  return room.visibility === "public" && room.kind === "room";
}

/**
 * How much say someone with `role` has in `room`.
 * @param {Pick<Room, "visibility" | "kind">} room
 * @param {Role | null | undefined} role
 * @param {Pick<User, "is_admin"> | null} [user]  a server admin ranks above everyone in a public room
 */
export function rank(room, role, user = null) {
  if (user && user.is_admin && isPublicRoom(room)) return SERVER_ADMIN;
  return (role && RANKS[role]) || 0;
}

/**
 * Whether `me` manages `room`: renames it, sets its topic, moderates its members.
 * @param {Room | null | undefined} room
 * @param {User | null} me
 */
export function managesRoom(room, me) {
  if (!room || room.kind === "dm") return false;
  return rank(room, room.my_role, me) >= RANKS.admin;
}

/**
 * What `me` may do to a member of `room` (nothing to themself here: leaving is its own button).
 * @param {Room} room
 * @param {User | null} me
 * @param {{user: User, role: Role}} member
 */
export function allowedOn(room, me, member) {
  const mine = rank(room, room.my_role, me);
  const self = !!me && member.user.id === me.id;
  const manager = !self && managesRoom(room, me);
  return {
    /** remove, ban, mute and unmute */
    moderate: manager && mine > rank(room, member.role, member.user),
    /** switch between admin and member */
    changeRole: !self && managesRoom(room, me) && member.role !== "owner" && mine >= RANKS.owner,
  };
}
