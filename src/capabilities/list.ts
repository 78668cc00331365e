// A set as people read it in a sentence: "CAP_A", "CAP_A and CAP_B", "all 41 capabilities but CAP_X".
import { CapSet } from "./set.js";
import { LAST_KNOWN_CAP } from "./table.js";

/**
 * A set in a few words, for tables and one-line summaries: "{}", "all", "all-x,y" (what is
 * missing, up to four), the names (up to `max`), or "N caps". `prefix`: keep libcap's cap_.
 */
export function abbreviateSet(set: CapSet, options: { all?: CapSet; max?: number; prefix?: boolean } = {}): string {
  const all = options.all ?? CapSet.upTo(LAST_KNOWN_CAP),
    max = options.max ?? 8;
  const short = (x: CapSet) =>
    x
      .names()
      .map((n) => (options.prefix ? n : n.replace(/^CAP_/, "")).toLowerCase())
      .join(",");
  if (set.isEmpty) return "{}";
  if (set.equals(all)) return "all";
  const missing = all.difference(set);
  if (set.size <= max) return short(set);
  if (missing.size <= 4 && missing.isSubsetOf(all)) return `all-${short(missing)}`;
  return `${set.size} caps`;
}

/** "CAP_A", "CAP_A and CAP_B", "CAP_A, CAP_B and CAP_C". */
export function listNames(set: CapSet): string {
  const names = set.names();
  if (names.length > 8) {
    // Long lists say what is missing instead: "every capability but CAP_NET_RAW".
    const missing = CapSet.upTo(LAST_KNOWN_CAP).difference(set);
    if (missing.size <= 3)
      return missing.isEmpty
        ? `all ${names.length} capabilities`
        : `all ${names.length} capabilities but ${missing.names().join(", ")}`;
    return `${names.length} capabilities (${names.slice(0, 4).join(", ")}, …)`;
  }
  if (names.length <= 1) return names[0] ?? "nothing";
  return `${names.slice(0, -1).join(", ")} and ${names[names.length - 1]}`;
}
