// Message search (#16) and jumping to a message: the API calls, kept out of client.js.
//
// `find` asks GET /search for a page of hits (newest first, paged by `next_cursor`);
// `loadAround` fills a room's timeline with the page centred on one message (GET
// /rooms/{id}/messages?around=), which is how a search hit and a permalink open a room at a
// message however far back it is, in one request.

import { seg } from "./api.js";

/**
 * @typedef {import("./store.js").Message} Message
 * @typedef {{id: string, name: string, kind: "room" | "dm"}} HitRoom
 * @typedef {{message: Message, room: HitRoom, highlights: number[][]}} Hit
 * @typedef {{results: Hit[], next_cursor: string | null}} HitPage
 */

export const AROUND_PAGE = 50;

export class Search {
  /**
   * @param {import("./api.js").Api} api
   * @param {import("./store.js").Store} store
   */
  constructor(api, store) {
    this.api = api;
    this.store = store;
  }

  /**
   * A page of messages matching `q` (newest first); rejects with ApiError 422
   * `invalid_query` (its message says why) for a query the server cannot run.
   * @param {object} o
   * @param {string} o.q
   * @param {"member" | "all"} [o.scope]  "all": public rooms I am not in, too
   * @param {string | null} [o.cursor]  the previous page's next_cursor
   * @param {number} [o.limit]
   * @param {AbortSignal} [o.signal]
   * @returns {Promise<HitPage>}
   */
  async find({ q, scope = "member", cursor = null, limit = 20, signal }) {
    const query = new URLSearchParams({ q, scope, limit: String(limit) });
    if (cursor) query.set("cursor", cursor);
    return this.api.get(`/search?${query}`, { signal });
  }

  /**
   * Replace what the room's timeline holds with the page centred on `seq`: scrolling from it
   * loads older and newer pages as usual (the window does not reach the newest until then).
   * The page lists thread replies too (around= cannot be top_level): the timeline holds them
   * as it holds live ones, and the main timeline leaves them out.
   * @param {string} roomId
   * @param {number} seq
   */
  async loadAround(roomId, seq) {
    const query = new URLSearchParams({ around: String(seq), limit: String(AROUND_PAGE) });
    const { data, date } = await this.api.request("GET", `/rooms/${seg(roomId)}/messages?${query}`);
    const t = this.store.timeline(roomId);
    t.clear();
    t.hasMoreAfter = false; // so the whole page is merged
    this.store.mergeMessages(roomId, data.messages, date);
    t.hasMoreAfter = data.has_more_after;
    t.hasMoreBefore = data.has_more_before && t.minSeq > 1;
    t.loaded = true;
    this.store.emit("timeline", { roomId });
  }
}
