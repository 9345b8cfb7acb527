// Test doubles for the web client's seams: a clock whose time moves only when a test says so,
// and a WebSocket the test plays the server for. Both implement only what the client uses.

/** Let every pending promise callback run (a macrotask runs after all queued microtasks). */
export const flush = () => new Promise((resolve) => setImmediate(resolve));

/** A Clock (see clock.js) on simulated time: timers fire only inside `advance`. */
export class FakeClock {
  constructor(start = 1_000_000) {
    this.time = start;
    this.nextId = 1;
    /** @type {Map<number, {at: number, fn: () => void, every: number | null}>} */
    this.timers = new Map();
    this.now = () => this.time;
    this.setTimeout = (fn, ms) => this._add(fn, ms, null);
    this.setInterval = (fn, ms) => this._add(fn, ms, ms);
    this.clearTimeout = (id) => this.timers.delete(id);
    this.clearInterval = (id) => this.timers.delete(id);
  }

  _add(fn, ms, every) {
    const id = this.nextId++;
    this.timers.set(id, { at: this.time + Math.max(0, ms || 0), fn, every });
    return id;
  }

  /** Timeouts (not intervals) still waiting, as delays from now, soonest first. */
  pendingTimeouts() {
    return [...this.timers.values()]
      .filter((t) => t.every === null)
      .map((t) => t.at - this.time)
      .sort((a, b) => a - b);
  }

  /** Move time forward by `ms`, firing due timers in order and settling promises after each. */
  async advance(ms) {
    const end = this.time + ms;
    await flush();
    for (;;) {
      let due = null;
      for (const [id, t] of this.timers) {
        if (t.at <= end && (due === null || t.at < due[1].at)) due = [id, t];
      }
      if (!due) break;
      const [id, t] = due;
      this.time = Math.max(this.time, t.at);
      if (t.every === null) this.timers.delete(id);
      else t.at += t.every;
      t.fn();
      await flush();
    }
    this.time = end;
  }

  /** The machine slept: time jumps without any timer firing in between. */
  jump(ms) {
    this.time += ms;
  }
}

/** A WebSocket whose server side the test plays; every instance made is in `sockets`. */
export function fakeWebSocketClass() {
  const sockets = [];
  class FakeWebSocket {
    static CONNECTING = 0;
    static OPEN = 1;
    static CLOSED = 3;
    constructor(url) {
      this.url = new URL(url);
      this.readyState = FakeWebSocket.CONNECTING;
      this.sent = [];
      this.closedByClient = null;
      this.onopen = this.onmessage = this.onclose = this.onerror = null;
      sockets.push(this);
    }
    send(data) {
      if (this.readyState !== FakeWebSocket.OPEN) throw new Error("not open");
      this.sent.push(JSON.parse(data));
    }
    close(code, reason) {
      this.closedByClient = { code, reason };
      this.readyState = FakeWebSocket.CLOSED;
    }
    // -- the server's side --
    serverOpen() {
      this.readyState = FakeWebSocket.OPEN;
      this.onopen?.({});
    }
    serverSend(frame) {
      this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
    }
    serverClose(code = 1006) {
      this.readyState = FakeWebSocket.CLOSED;
      this.onclose?.({ code });
    }
  }
  return { FakeWebSocket, sockets };
}
