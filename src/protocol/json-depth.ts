/** Deepest nesting of objects and arrays a frame or a server API body may have: `{}` is 1, `{"data":[1]}` is 2. */
export const MAX_JSON_DEPTH = 64;

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/**
 * True when JSON text nests objects and arrays deeper than `max`. Checked on the text, before it is parsed: data
 * nested thousands of levels deep parses, but serializing it again (`JSON.stringify`, every store and broker does)
 * overflows the stack. Brackets inside strings do not count. Text that is not JSON gets an answer that means nothing;
 * parsing it fails anyway.
 */
export function exceedsJsonDepth(text: string, max = MAX_JSON_DEPTH): boolean {
  // Most texts hold fewer brackets than the limit: counting them is native-fast and settles it.
  if (countOpenings(text, max) <= max) return false;
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const char = text.charCodeAt(i);
    if (inString) {
      if (char === BACKSLASH) i++;
      else if (char === QUOTE) inString = false;
    } else if (char === QUOTE) inString = true;
    else if (char === OPEN_BRACE || char === OPEN_BRACKET) {
      if (++depth > max) return true;
    } else if (char === CLOSE_BRACE || char === CLOSE_BRACKET) depth--;
  }
  return false;
}

/** `{` and `[` in the text, counted up to `max + 1`. */
function countOpenings(text: string, max: number): number {
  let count = 0;
  for (const opening of ['{', '[']) {
    for (let at = text.indexOf(opening); at !== -1 && count <= max; at = text.indexOf(opening, at + 1)) count++;
  }
  return count;
}
