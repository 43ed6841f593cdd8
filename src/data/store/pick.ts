import { DataError } from "../../core/errors.js";

/**
 * The data columns a read returns: all but the time column in file order, or the requested
 * subset in the requested order. A requested column the file lacks is an error naming the ones
 * it has, so a typo is caught at the read rather than as NaN features later.
 */
export function pickColumns(
  file: string,
  fileColumns: readonly string[],
  timeName: string,
  requested: readonly string[] | undefined,
): string[] {
  const data = fileColumns.filter((c) => c !== timeName);
  if (requested === undefined) return data;
  const present = new Set(data);
  const missing = requested.filter((c) => !present.has(c));
  if (missing.length > 0) {
    throw new DataError(
      `column${missing.length > 1 ? "s" : ""} ${missing.map((c) => `"${c}"`).join(", ")} not found; columns are: ${data.join(", ") || "(none)"}`,
      { file },
    );
  }
  const seen = new Set<string>();
  for (const c of requested) {
    if (seen.has(c)) throw new DataError(`column "${c}" requested twice`, { file });
    seen.add(c);
  }
  return [...requested];
}
