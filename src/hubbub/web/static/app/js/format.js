// Formatting for display: times, days, and message text with safe links.

import { visibleText, withoutBidiControls } from "./bidi.js";
import { h } from "./dom.js";

const timeFmt = new Intl.DateTimeFormat(undefined, { hour: "numeric", minute: "2-digit" });
const dayFmt = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  month: "long",
  day: "numeric",
});
const dayYearFmt = new Intl.DateTimeFormat(undefined, {
  weekday: "long",
  month: "long",
  day: "numeric",
  year: "numeric",
});
const fullFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "full", timeStyle: "medium" });

const whenFmt = new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "short" });

/** @param {string} iso */
export const formatTime = (iso) => timeFmt.format(new Date(iso));
/**
 * A moment, briefly but with its date: "5 Dec 2026, 14:03".
 * @param {string} iso
 */
export const formatWhen = (iso) => whenFmt.format(new Date(iso));
/** @param {string} iso */
export const formatFull = (iso) => fullFmt.format(new Date(iso));

/**
 * A local calendar day key, for grouping: "2026-11-26".
 * @param {string} iso
 */
export function dayKey(iso) {
  const d = new Date(iso);
  return `${d.getFullYear()}-${d.getMonth() + 1}-${d.getDate()}`;
}

/** @param {string} iso */
export function dayLabel(iso) {
  const d = new Date(iso);
  const today = new Date();
  const yesterday = new Date(today.getFullYear(), today.getMonth(), today.getDate() - 1);
  if (dayKey(d.toISOString()) === dayKey(today.toISOString())) return "Today";
  if (dayKey(d.toISOString()) === dayKey(yesterday.toISOString())) return "Yesterday";
  return d.getFullYear() === today.getFullYear() ? dayFmt.format(d) : dayYearFmt.format(d);
}

// http(s) URLs; trailing punctuation that usually ends a sentence is not part of the link.
const URL_RE = /\bhttps?:\/\/[^\s<>"]+/gi;
const TRAILING = /[.,;:!?'")\]}]+$/;

/**
 * Only absolute http(s) URLs become links; anything else stays text.
 * @param {string} candidate
 */
export function safeHref(candidate) {
  try {
    const url = new URL(candidate);
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * Message text as DOM nodes: text nodes, plus <a> for http(s) URLs that open in a new tab
 * without giving it a reference to this page (rel="noopener noreferrer"). Bidi control
 * characters show as markers (bidi.js), in links too.
 * @param {string} text
 */
export function renderText(text) {
  const frag = document.createDocumentFragment();
  let last = 0;
  for (const match of text.matchAll(URL_RE)) {
    let raw = match[0];
    const trail = raw.match(TRAILING);
    if (trail) raw = raw.slice(0, -trail[0].length);
    const href = safeHref(raw);
    if (!href) continue;
    if (match.index > last) frag.append(visibleText(text.slice(last, match.index)));
    frag.append(h("a", { href, target: "_blank", rel: "noopener noreferrer" }, visibleText(raw)));
    last = match.index + raw.length;
  }
  if (last < text.length) frag.append(visibleText(text.slice(last)));
  return frag;
}

/**
 * Up to `n` characters of text, on one line.
 * @param {string} text
 */
export function snippet(text, n = 120) {
  const line = text.replace(/\s+/g, " ").trim();
  return line.length > n ? `${line.slice(0, n - 1)}…` : line;
}

/** @param {string | null | undefined} name */
export function initials(name) {
  const parts = withoutBidiControls(String(name || "?")).trim().split(/[\s._-]+/).filter(Boolean);
  const letters = parts.length > 1 ? parts[0][0] + parts[1][0] : (parts[0] || "?").slice(0, 2);
  return letters.toUpperCase();
}

/**
 * A stable hue for a name, for avatar colours.
 * @param {string} name
 */
export function hue(name) {
  let x = 0;
  for (const ch of String(name)) x = (x * 31 + (ch.codePointAt(0) ?? 0)) % 360;
  return x;
}

/**
 * What a User-Agent header says in a few words: "Firefox on Linux", "python-httpx".
 * @param {string | null | undefined} ua
 */
export function describeAgent(ua) {
  if (!ua) return "Unknown browser or app";
  const browser = /Edg(e|A|iOS)?\//.test(ua)
    ? "Edge"
    : /OPR\//.test(ua)
      ? "Opera"
      : /Firefox\//.test(ua)
        ? "Firefox"
        : /Chromium\//.test(ua)
          ? "Chromium"
          : /Chrome\//.test(ua)
            ? "Chrome"
            : /Safari\//.test(ua)
              ? "Safari"
              : "";
  const os = /Android/.test(ua)
    ? "Android"
    : /iPhone|iPad|iPod/.test(ua)
      ? "iOS"
      : /Windows/.test(ua)
        ? "Windows"
        : /Macintosh|Mac OS X/.test(ua)
          ? "macOS"
          : /CrOS/.test(ua)
            ? "ChromeOS"
            : /Linux/.test(ua)
              ? "Linux"
              : "";
  if (browser) return os ? `${browser} on ${os}` : browser;
  return ua.split(/[\s/]/)[0].slice(0, 40) || "Unknown browser or app";
}
