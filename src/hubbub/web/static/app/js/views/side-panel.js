// The side panel (#17): one place on the right for a thread, the Mentions and Threads views and
// a room's pins. Whoever opens it owns it until another view takes it or it is closed.

import { $, replaceChildren } from "../dom.js";

/**
 * @typedef {import("../dom.js").Child} Child
 * @typedef {object} SidePanel
 * @property {(owner: string, title: string, body: Child, foot?: Child) => void} show
 * @property {(body: Child, foot?: Child) => void} update  the same owner's new content
 * @property {() => void} close
 * @property {() => string | null} owner  who shows something now ("thread:<id>", "mentions"…)
 */

/** @returns {SidePanel} */
export function mountSidePanel() {
  const panel = $("side-panel");
  const title = $("side-panel-title");
  const body = $("side-panel-body");
  const foot = $("side-panel-foot");
  /** @type {string | null} */
  let owner = null;
  /** @type {HTMLElement | null} where focus was before the panel opened */
  let returnTo = null;

  function close() {
    if (panel.hidden) return;
    panel.hidden = true;
    owner = null;
    body.replaceChildren();
    foot.replaceChildren();
    if (returnTo && returnTo.isConnected) returnTo.focus();
    returnTo = null;
  }

  $("side-panel-close").addEventListener("click", close);
  panel.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !e.defaultPrevented) {
      e.preventDefault();
      close();
    }
  });

  return {
    show(who, text, content, footer) {
      if (panel.hidden) returnTo = /** @type {HTMLElement | null} */ (document.activeElement);
      owner = who;
      title.textContent = text;
      replaceChildren(body, content);
      replaceChildren(foot, footer);
      panel.hidden = false;
    },
    update(content, footer) {
      const keep = body.scrollTop;
      const atBottom = body.scrollHeight - body.scrollTop - body.clientHeight < 40;
      replaceChildren(body, content);
      if (footer !== undefined) replaceChildren(foot, footer);
      body.scrollTop = atBottom ? body.scrollHeight : keep;
    },
    close,
    owner: () => owner,
  };
}
