// Keys shared by the composers (#17): Enter inside an open ``` code fence adds a line instead of
// sending, so code can be typed as it reads.

/**
 * Whether the text before the caret has an open fence (an odd number of fence lines).
 * @param {string} text
 * @param {number} caret
 */
export function insideOpenFence(text, caret) {
  let open = false;
  for (const line of text.slice(0, caret).split("\n")) {
    if (/^ {0,3}(```|~~~)/.test(line)) open = !open;
  }
  return open;
}

/**
 * What Enter does in a composer: "send", "newline" (let the textarea add it), or "ignore"
 * (an input method is composing).
 * @param {KeyboardEvent} e
 * @param {HTMLTextAreaElement} input
 * @returns {"send" | "newline" | "ignore"}
 */
export function enterAction(e, input) {
  if (e.isComposing) return "ignore";
  if (e.shiftKey || e.altKey || e.ctrlKey || e.metaKey) return "newline";
  return insideOpenFence(input.value, input.selectionStart ?? input.value.length) ? "newline" : "send";
}
