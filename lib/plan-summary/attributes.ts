/** Leaf values by attribute path; cdktf's `//` metadata (construct paths) is not configuration. */
export function flattenAttributes(value: unknown, prefix = "", into = new Map<string, string>()): Map<string, string> {
  if (Array.isArray(value)) {
    if (value.length === 0) into.set(prefix, "[]");
    value.forEach((item, index) => flattenAttributes(item, `${prefix}[${index}]`, into));
  } else if (value !== null && typeof value === "object") {
    const entries = Object.entries(value).filter(([key]) => key !== "//");
    if (entries.length === 0) into.set(prefix, "{}");
    for (const [key, child] of entries) flattenAttributes(child, prefix ? `${prefix}.${key}` : key, into);
  } else {
    into.set(prefix, JSON.stringify(value));
  }
  return into;
}
