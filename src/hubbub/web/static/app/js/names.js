// Who someone is, in a way that cannot be faked with a display name.
//
// Display names are free text: anyone may call themselves "Alice". The username is what is
// unique, so it goes beside the display name wherever the two differ, and also wherever two
// people on screen have display names that read the same (then both show it, even the one
// whose display name is their username). Guests of the classic API have no account and no
// username: they are always marked as guests.

/**
 * @typedef {import("./store.js").Author} Author
 */

// Characters that render as nothing (format characters such as zero-width spaces and joiners,
// fillers): left out when comparing names, so "Al\u200bice" reads the same as "Alice".
const IGNORABLE = /[\p{Default_Ignorable_Code_Point}\p{Cc}\p{Cf}]/gu;
// What the server refuses as a whole display name: only spaces, controls, format characters,
// marks or fillers (services/fields.py `is_invisible`).
const INVISIBLE_ONLY =
  /^[\p{Zs}\p{Zl}\p{Zp}\p{Cc}\p{Cf}\p{Mn}\p{Me}\p{Cs}\p{Co}\p{Cn}\u115f\u1160\u3164\uffa0\u2800]*$/u;

/**
 * A display name as people read it: compatibility forms folded (NFKC: fullwidth "Ａ" is "A"),
 * invisible characters dropped, spaces collapsed, case ignored.
 * @param {string} name
 */
export function nameKey(name) {
  return String(name)
    .normalize("NFKC")
    .replace(IGNORABLE, "")
    .replace(/\s+/gu, " ")
    .trim()
    .toLowerCase();
}

/**
 * Who an author is: their account, or (guests have none) their guest name.
 * @param {Author} author
 */
export function identity(author) {
  return author.id ? `user:${author.id}` : `guest:${author.display_name}`;
}

/**
 * The name keys (see nameKey) that two or more different people among `authors` share.
 * @param {Iterable<Author>} authors
 * @returns {Set<string>}
 */
export function clashingNames(authors) {
  /** @type {Map<string, string>} key -> the first identity seen with it */
  const first = new Map();
  /** @type {Set<string>} */
  const clashes = new Set();
  for (const author of authors) {
    const key = nameKey(author.display_name || author.username || "");
    const who = identity(author);
    const seen = first.get(key);
    if (seen === undefined) first.set(key, who);
    else if (seen !== who) clashes.add(key);
  }
  return clashes;
}

/**
 * The name to show for an author (the display name, else the username).
 * @param {Author} author
 */
export function displayName(author) {
  return author.display_name || author.username || "unknown";
}

/**
 * Whether `@username` goes beside the display name: when they differ (beyond case and
 * invisible characters), or when someone else on screen reads the same.
 * @param {Author} author
 * @param {Set<string>} [clashes]  from clashingNames over everyone on screen
 */
export function showsUsername(author, clashes = new Set()) {
  if (!author.username) return false; // a guest: marked as one instead
  const key = nameKey(displayName(author));
  return key !== author.username.toLowerCase() || clashes.has(key);
}

/**
 * One line of text naming an author: "Alice (@alice2)", "Bob (guest)", "carol". Show it with
 * bidi.js (isolated/visibleText), or strip its bidi controls for an attribute.
 * @param {Author} author
 * @param {Set<string>} [clashes]
 */
export function authorText(author, clashes) {
  const name = displayName(author);
  if (!author.username) return author.guest ? `${name} (guest)` : name;
  return showsUsername(author, clashes) ? `${name} (@${author.username})` : name;
}

/**
 * What the hover tooltip says about an author: always who they really are.
 * @param {Author} author
 */
export function authorTitle(author) {
  return author.username ? `@${author.username}` : "Guest: no account (posted through the classic API)";
}

/**
 * True if a display name would show nothing (the server refuses it: 422).
 * @param {string} name
 */
export function isInvisibleName(name) {
  return INVISIBLE_ONLY.test(name);
}
