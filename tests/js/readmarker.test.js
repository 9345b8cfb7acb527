// The read marker moves only over messages seen on screen, from where it is, without skipping
// one that was not seen or not loaded; my own messages count as read.

import assert from "node:assert/strict";
import { test } from "node:test";

import { advanceMarker, isSeenEnough } from "../../src/hubbub/web/static/app/js/readmarker.js";

const range = (a, b) => Array.from({ length: b - a + 1 }, (_, i) => a + i);

function advance({ marker, held, seen, mine = [], threadOnly = [], last = undefined }) {
  const h = new Set(held);
  const s = new Set(seen);
  const m = new Set(mine);
  const t = new Set(threadOnly);
  return advanceMarker({
    marker,
    last: last ?? Math.max(marker, ...held),
    isHeld: (seq) => h.has(seq),
    isSeen: (seq) => s.has(seq),
    isMine: (seq) => m.has(seq),
    isThreadOnly: (seq) => t.has(seq),
  });
}

test("opening a room with 400 unread and seeing the first 22 moves the marker to 22, not 400", () => {
  assert.equal(advance({ marker: 0, held: range(1, 400), seen: range(1, 22) }), 22);
});

test("the newest messages seen after a jump to the bottom do not move it over the unseen middle", () => {
  assert.equal(advance({ marker: 0, held: range(1, 400), seen: [...range(1, 22), ...range(380, 400)] }), 22);
});

test("a hole in what is loaded stops it: messages not loaded were not seen", () => {
  assert.equal(advance({ marker: 10, held: range(351, 400), seen: range(351, 400) }), 10);
  assert.equal(advance({ marker: 350, held: range(351, 400), seen: range(351, 400) }), 400);
});

test("my own messages count as read; it never moves back", () => {
  assert.equal(advance({ marker: 5, held: range(1, 10), seen: [6, 7, 9], mine: [8] }), 9);
  assert.equal(advance({ marker: 9, held: range(1, 10), seen: [] }), 9);
  assert.equal(advance({ marker: 20, held: range(1, 10), seen: range(1, 10) }), 20);
});

test("#17: replies that stay in their thread (not shown, not unread) are passed over, not waited for", () => {
  // 3..5 are thread replies, not loaded: the pages prove it; 2 was seen, so the marker reaches 5.
  assert.equal(advance({ marker: 1, held: [1, 2], seen: [2], threadOnly: [3, 4, 5], last: 5 }), 5);
  // Between two seen messages too; but an unseen one after them still stops it.
  assert.equal(advance({ marker: 0, held: [1, 4, 5, 6], seen: [1, 4], threadOnly: [2, 3] }), 4);
  // Without that proof, a seq not loaded stops it as before.
  assert.equal(advance({ marker: 1, held: [1, 2], seen: [2], last: 5 }), 2);
});

test("seen enough: half the message, or half the view for a tall one", () => {
  const e = (ratio, height, view, isIntersecting = true) => ({
    isIntersecting,
    intersectionRatio: ratio,
    intersectionRect: { height },
    rootBounds: view === null ? null : { height: view },
  });
  assert.equal(isSeenEnough(e(0.5, 20, 600)), true);
  assert.equal(isSeenEnough(e(0.2, 20, 600)), false);
  assert.equal(isSeenEnough(e(0.3, 300, 600)), true);
  assert.equal(isSeenEnough(e(0.3, 300, null)), false);
  assert.equal(isSeenEnough(e(1, 20, 600, false)), false);
});
