// Strings that come from processes or files (command names, paths, event fields) are escaped
// before they reach a terminal or a log line: a name carrying ESC[8m must not hide the word
// ANOMALY, and a newline must not forge a second line.

/**
 * C0 controls (newline and tab included), DEL and C1 controls, and the invisible format
 * characters that reorder or hide text (bidi overrides and isolates, zero-width marks, the
 * line and paragraph separators).
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** The string with every unsafe character as \xNN (or \u{NNNN} above 0xff). */
export function terminalSafe(s: string): string {
  return s.replace(UNSAFE, (c) => {
    const n = c.codePointAt(0)!;
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u{${n.toString(16)}}`;
  });
}

/** What JSON.stringify leaves raw inside strings (it escapes C0 itself; the only raw C0 left is its own indentation). */
const UNSAFE_IN_JSON = /[\u007f-\u009f\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]/g;

/** The longest error line capgate prints (a 6 MB field must not become a 6 MB line). */
export const MAX_ERROR_LINE = 300;

/** An error message as one terminal-safe line of at most MAX_ERROR_LINE characters. */
export function errorLine(message: string): string {
  const safe = terminalSafe(message);
  return safe.length <= MAX_ERROR_LINE ? safe : `${safe.slice(0, MAX_ERROR_LINE - 1)}…`;
}

/** JSON.stringify, with the characters it leaves raw (DEL, C1, format controls) as \u escapes too. */
export function jsonSafe(value: unknown, indent?: number): string {
  return JSON.stringify(value, null, indent).replace(
    UNSAFE_IN_JSON,
    (c) => `\\u${c.codePointAt(0)!.toString(16).padStart(4, "0")}`,
  );
}
