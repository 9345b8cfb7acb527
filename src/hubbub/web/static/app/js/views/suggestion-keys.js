// The keys of a suggestion list under the composer (mentions, slash commands): ↑ and ↓ move,
// Enter or Tab choose, Escape closes. While the list is open these keys are the list's, caught
// before the composer's own handling. The list closes when focus really leaves the box (a
// click on a suggestion lands first; a focus that comes straight back keeps it open).

/**
 * @param {HTMLTextAreaElement} input
 * @param {object} o
 * @param {() => boolean} o.open  the list is showing suggestions
 * @param {(step: number) => void} o.move  move the active suggestion by `step` (wrapping)
 * @param {() => void} o.choose  take the active suggestion
 * @param {() => void} o.close
 * @param {() => void} o.show  draw the list again (the active one moved)
 */
export function suggestionKeys(input, { open, move, choose, close, show }) {
  input.addEventListener("blur", () =>
    setTimeout(() => {
      if (document.activeElement !== input) close();
    }, 100),
  );
  input.addEventListener(
    "keydown",
    (e) => {
      if (!open()) return;
      let handled = true;
      if (e.key === "ArrowDown") move(1);
      else if (e.key === "ArrowUp") move(-1);
      else if ((e.key === "Enter" && !e.shiftKey) || e.key === "Tab") choose();
      else if (e.key === "Escape") close();
      else handled = false;
      if (!handled) return;
      e.preventDefault();
      e.stopImmediatePropagation();
      if (open()) show();
    },
    true,
  );
}
