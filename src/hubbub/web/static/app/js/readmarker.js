// Where my read marker may move: only over messages that were on screen. Seqs in a room are
// gapless, so "everything up to N was seen" is checked message by message from the marker on:
// the marker stops at the first message after it that is not held (not loaded yet) or was not
// seen. My own messages count as read (I wrote them). A reply that stays in its thread is not
// shown in the main timeline (#17) and not unread in the room: the marker passes over it when
// it gets there (a held one, or one the pages loaded prove is only a thread reply).

/**
 * The furthest the read marker may move from `marker`.
 * @param {object} o
 * @param {number} o.marker  where it is now
 * @param {number} o.last  the newest seq held
 * @param {(seq: number) => boolean} o.isHeld  the message is loaded (any seq in the room may not be)
 * @param {(seq: number) => boolean} o.isSeen  it was on screen while the page was visible
 * @param {(seq: number) => boolean} o.isMine
 * @param {(seq: number) => boolean} [o.isThreadOnly]  a thread reply only (held or not)
 * @returns {number}  `marker` when it may not move
 */
export function advanceMarker({ marker, last, isHeld, isSeen, isMine, isThreadOnly = () => false }) {
  let at = marker;
  while (at < last) {
    const next = at + 1;
    if (isThreadOnly(next)) {
      at = next;
      continue;
    }
    if (!isHeld(next) || !(isSeen(next) || isMine(next))) break;
    at = next;
  }
  return at;
}

/**
 * Whether an intersection counts as seen: at least half of the message on screen, or (a message
 * taller than the view) half of the view filled by it.
 * @param {{isIntersecting: boolean, intersectionRatio: number,
 *   intersectionRect: {height: number}, rootBounds: {height: number} | null}} entry
 */
export function isSeenEnough(entry) {
  if (!entry.isIntersecting) return false;
  if (entry.intersectionRatio >= 0.5) return true;
  const view = entry.rootBounds ? entry.rootBounds.height : 0;
  return view > 0 && entry.intersectionRect.height >= view / 2;
}
