// Leaving a room, after a confirmation that says what it means: a public room can be joined
// again at any time; a private one only if someone in it adds you back.

import { withoutBidiControls } from "../bidi.js";

/**
 * @param {object} o
 * @param {import("../client.js").Client} o.client
 * @param {import("./confirm.js").Confirm} o.confirm
 * @param {() => void} o.onLeft
 * @param {(err: unknown) => void} o.onError
 */
export function mountLeave({ client, confirm, onLeft, onError }) {
  return {
    /**
     * Ask, then leave. Resolves to true if I left.
     * @param {string} roomId
     */
    async ask(roomId) {
      const room = client.store.rooms.get(roomId);
      if (!room) return false;
      const name = `#${withoutBidiControls(room.name)}`;
      const isPrivate = room.visibility === "private";
      const owner = room.my_role === "owner" ? " You own it: it passes to its senior admin or member." : "";
      const answer = await confirm.ask({
        title: `Leave ${name}?`,
        text: isPrivate
          ? `${name} is a private room: only people in it can add others.${owner}`
          : `You can join it again any time from “Public rooms to join”.${owner}`,
        warning: isPrivate ? "You can't come back unless someone in the room adds you again." : "",
        confirm: "Leave room",
      });
      if (!answer) return false;
      try {
        await client.leave(roomId);
        onLeft();
        return true;
      } catch (err) {
        onError(err);
        return false;
      }
    },
  };
}

/** @typedef {ReturnType<typeof mountLeave>} Leave */
