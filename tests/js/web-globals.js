// Web platform globals the client modules use that Node 18 (Debian 12's `nodejs`) has only
// behind flags: CustomEvent (the store's and outbox's notifications) and crypto (the outbox's
// Idempotency-Keys). Newer Node has both; then this changes nothing. Import it first.

import { webcrypto } from "node:crypto";

if (typeof globalThis.CustomEvent !== "function") {
  globalThis.CustomEvent = class CustomEvent extends Event {
    constructor(type, init = {}) {
      super(type, init);
      this.detail = init.detail ?? null;
    }
  };
}

if (typeof globalThis.crypto?.randomUUID !== "function") {
  Object.defineProperty(globalThis, "crypto", { value: webcrypto, configurable: true });
}
