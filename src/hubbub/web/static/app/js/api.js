// HTTP access to the v1 API: bearer token, JSON bodies, problem-details errors, timeouts.

export const API = "/api/v1";

/**
 * @typedef {object} RequestOptions
 * @property {unknown} [body]  sent as JSON
 * @property {Record<string, string>} [headers]
 * @property {AbortSignal} [signal]
 * @property {number} [timeoutMs]
 */

/** The server answered with an error (RFC 9457 problem details). Branch on `code`. */
export class ApiError extends Error {
  /**
   * @param {number} status
   * @param {string} code
   * @param {string} [detail]
   */
  constructor(status, code, detail) {
    super(detail || code || `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.code = code || "";
  }
  /** Worth retrying unchanged: the server failed, not the request. */
  get retryable() {
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }
}

/** The request did not get an answer (offline, server down, timed out). Safe to retry. */
export class NetworkError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = "NetworkError";
    this.retryable = true;
  }
}

export class Api {
  /**
   * @param {{token: () => string | null, onUnauthenticated: () => void}} opts
   */
  constructor({ token, onUnauthenticated }) {
    this.token = token;
    this.onUnauthenticated = onUnauthenticated;
  }

  /**
   * One request. Resolves to {status, data, date} (date: the server's Date header in ms, or NaN);
   * rejects with ApiError or NetworkError.
   * @param {string} method
   * @param {string} path  under /api/v1
   * @param {RequestOptions} [options]
   * @returns {Promise<{status: number, data: any, date: number}>}
   */
  async request(method, path, { body, headers = {}, signal, timeoutMs = 15000 } = {}) {
    /** @type {Record<string, string>} */
    const h = { Accept: "application/json", ...headers };
    const token = this.token();
    if (token) h.Authorization = `Bearer ${token}`;
    if (body !== undefined) h["Content-Type"] = "application/json";
    const signals = [AbortSignal.timeout(timeoutMs)];
    if (signal) signals.push(signal);
    let response;
    try {
      response = await fetch(API + path, {
        method,
        headers: h,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.any(signals),
        cache: "no-store",
        credentials: "omit",
      });
    } catch (err) {
      if (signal && signal.aborted) throw err;
      const timedOut = /** @type {{name?: string} | null} */ (err)?.name === "TimeoutError";
      throw new NetworkError(timedOut ? "timed out" : "network error");
    }
    const date = Date.parse(response.headers.get("date") || "");
    let data = null;
    if (response.status !== 204) {
      try {
        data = await response.json();
      } catch {
        data = null;
      }
    }
    if (!response.ok) {
      const code = data && typeof data.code === "string" ? data.code : "";
      const detail = data && (data.detail || data.title || data.error);
      if (response.status === 401 && code === "unauthenticated" && token) this.onUnauthenticated();
      throw new ApiError(response.status, code, detail);
    }
    return { status: response.status, data, date };
  }

  // The JSON body of the answer: typed `any` because its shape depends on the path (the
  // server's OpenAPI document describes each).

  /**
   * @param {string} path
   * @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   */
  async get(path, opts) {
    return (await this.request("GET", path, opts)).data;
  }
  /**
   * @param {string} path
   * @param {unknown} [body]
   * @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   */
  async post(path, body, opts = {}) {
    return (await this.request("POST", path, { ...opts, body })).data;
  }
  /**
   * @param {string} path
   * @param {unknown} [body]
   * @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   */
  async put(path, body, opts = {}) {
    return (await this.request("PUT", path, { ...opts, body })).data;
  }
  /**
   * @param {string} path
   * @param {unknown} [body]
   * @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   */
  async patch(path, body, opts = {}) {
    return (await this.request("PATCH", path, { ...opts, body })).data;
  }
  /**
   * @param {string} path
   * @param {RequestOptions} [opts]
   * @returns {Promise<any>}
   */
  async del(path, opts) {
    return (await this.request("DELETE", path, opts)).data;
  }
}

/**
 * A path segment, percent-encoded (ids are opaque; emoji need encoding).
 * @param {string} value
 */
export const seg = (value) => encodeURIComponent(value);
