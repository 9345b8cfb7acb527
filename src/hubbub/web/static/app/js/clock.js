// Time and timers, handed to what schedules work (the stream, the outbox) so that tests can run
// it on a fake clock instead of waiting.

/**
 * @typedef {object} Clock
 * @property {() => number} now  milliseconds since the epoch
 * @property {(fn: () => void, ms: number) => number} setTimeout
 * @property {(id: number | null | undefined) => void} clearTimeout
 * @property {(fn: () => void, ms: number) => number} setInterval
 * @property {(id: number | null | undefined) => void} clearInterval
 */

/**
 * The real clock. The timer functions are wrapped because browsers refuse them called on
 * anything but `window` ("Illegal invocation").
 * @type {Clock}
 */
export const systemClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (id) => clearTimeout(id ?? undefined),
  setInterval: (fn, ms) => setInterval(fn, ms),
  clearInterval: (id) => clearInterval(id ?? undefined),
};
