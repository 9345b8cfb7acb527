// What notifies me (#18), the same rule as the server's (services/notifications.py), applied
// to the messages the page receives: not mine; in a room I am in, not muted; not during
// do-not-disturb; a mention of me (@me, @room, @here), a reply in a thread I follow, or, at
// level `all`, any message in the timeline (a DM's default level is `all`).

/**
 * @typedef {import("./shapes.js").Message} Message
 * @typedef {import("./shapes.js").Room} Room
 * @typedef {"mention" | "thread" | "dm" | "message"} Reason
 */

/** The server's default level for rooms; rooms say their own (notification_level) anyway. */
export const ROOM_DEFAULT = "mentions";

/**
 * @param {string | null | undefined} time  RFC 3339, or null
 * @param {number} now  ms
 */
export function isFuture(time, now) {
  return !!time && Date.parse(time) > now;
}

/**
 * The level that applies to me in a room.
 * @param {Room} room
 * @returns {"all" | "mentions" | "none"}
 */
export function levelOf(room) {
  return room.notification_level || (room.kind === "dm" ? "all" : ROOM_DEFAULT);
}

/**
 * Why the message notifies me, or null if it does not.
 * @param {object} o
 * @param {Message} o.message
 * @param {Room | undefined} o.room  my room (undefined: I am not in it)
 * @param {string} o.meId
 * @param {Set<string>} o.followed  roots of the threads I follow
 * @param {string | null} [o.dndUntil]  do not disturb until (RFC 3339)
 * @param {number} o.now  ms
 * @returns {Reason | null}
 */
export function notifyReason({ message, room, meId, followed, dndUntil = null, now }) {
  if (!room || message.deleted) return null;
  if (message.author && message.author.id === meId) return null;
  if (isFuture(room.notifications_muted_until, now) || isFuture(dndUntil, now)) return null;
  const level = levelOf(room);
  if (level === "none") return null;
  const m = message.mentions;
  if (m && (m.room || m.here || (m.users || []).includes(meId))) return "mention";
  if (message.thread_root && followed.has(message.thread_root)) return "thread";
  const inTimeline = !message.thread_root || !!message.also_to_room;
  if (level === "all" && inTimeline) return room.kind === "dm" ? "dm" : "message";
  return null;
}

/**
 * The total of unread mentions over my rooms (the favicon's badge).
 * @param {Iterable<Room>} rooms
 */
export function mentionTotal(rooms) {
  let total = 0;
  for (const room of rooms) total += room.mention_count || 0;
  return total;
}

/**
 * A badge's text: the count, or "99+".
 * @param {number} count
 */
export function badgeText(count) {
  return count > 99 ? "99+" : String(count);
}
