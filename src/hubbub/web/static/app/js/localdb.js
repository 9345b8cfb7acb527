// What must survive a reload or a closed tab: the outbox (messages not yet confirmed by the
// server, each with its Idempotency-Key) and each room's unsent draft. Kept in IndexedDB, one
// database per account on this origin, so two people sharing a browser never see each other's.
//
// The interface is three calls on named stores, so the outbox and composer are tested with
// MemoryDb and run in the browser with IndexedDB; when IndexedDB is refused (private modes of
// some browsers) the client falls back to MemoryDb and behaves as before: nothing survives.

/** @typedef {"outbox" | "drafts"} StoreName */

/**
 * @typedef {object} LocalDb
 * @property {(store: StoreName) => Promise<any[]>} all  every record of a store
 * @property {(store: StoreName, value: any) => Promise<void>} put  insert or replace (by key)
 * @property {(store: StoreName, key: string) => Promise<void>} delete
 * @property {() => Promise<void>} clear  forget everything (sign-out)
 */

const KEYS = { outbox: "key", drafts: "roomId" };
const VERSION = 1;

/** @implements {LocalDb} */
export class MemoryDb {
  constructor() {
    /** @type {Record<StoreName, Map<string, any>>} */
    this.stores = { outbox: new Map(), drafts: new Map() };
  }
  /** @param {StoreName} store */
  async all(store) {
    return [...this.stores[store].values()].map((v) => structuredClone(v));
  }
  /**
   * @param {StoreName} store
   * @param {any} value
   */
  async put(store, value) {
    this.stores[store].set(value[KEYS[store]], structuredClone(value));
  }
  /**
   * @param {StoreName} store
   * @param {string} key
   */
  async delete(store, key) {
    this.stores[store].delete(key);
  }
  async clear() {
    for (const s of Object.values(this.stores)) s.clear();
  }
}

/**
 * @param {IDBRequest | IDBTransaction} req
 * @returns {Promise<any>}
 */
function settle(req) {
  return new Promise((resolve, reject) => {
    if ("oncomplete" in req) {
      req.oncomplete = () => resolve(undefined);
      req.onabort = req.onerror = () => reject(req.error);
    } else {
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    }
  });
}

/** @implements {LocalDb} */
class IndexedDb {
  /** @param {IDBDatabase} db */
  constructor(db) {
    this.db = db;
  }
  /** @param {StoreName} store */
  async all(store) {
    return settle(this.db.transaction(store, "readonly").objectStore(store).getAll());
  }
  // Writes are issued in call order on one database, and IndexedDB runs read-write transactions
  // on the same store in the order they were created: a put then a delete never swap.
  /**
   * @param {StoreName} store
   * @param {any} value
   */
  async put(store, value) {
    const tx = this.db.transaction(store, "readwrite");
    tx.objectStore(store).put(value);
    await settle(tx);
  }
  /**
   * @param {StoreName} store
   * @param {string} key
   */
  async delete(store, key) {
    const tx = this.db.transaction(store, "readwrite");
    tx.objectStore(store).delete(key);
    await settle(tx);
  }
  async clear() {
    const tx = this.db.transaction(["outbox", "drafts"], "readwrite");
    tx.objectStore("outbox").clear();
    tx.objectStore("drafts").clear();
    await settle(tx);
  }
}

/**
 * This account's database, or a MemoryDb when IndexedDB cannot be used.
 * @param {string} userId
 * @returns {Promise<LocalDb>}
 */
export async function openLocalDb(userId) {
  if (typeof indexedDB === "undefined") return new MemoryDb();
  try {
    const req = indexedDB.open(`hubbub:${userId}`, VERSION);
    req.onupgradeneeded = () => {
      const db = req.result;
      for (const [name, keyPath] of Object.entries(KEYS)) {
        if (!db.objectStoreNames.contains(name)) db.createObjectStore(name, { keyPath });
      }
    };
    return new IndexedDb(await settle(req));
  } catch {
    return new MemoryDb();
  }
}
