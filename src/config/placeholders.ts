/**
 * `{symbol}` and `{freq}` in any string value, at any depth (e.g. `"data_folder":
 * "./data/{symbol}"`, `"names": ["{symbol}_score"]`). Keys are left alone, and so are other
 * braces, which a custom generator may use for its own templates.
 */
export interface PlaceholderValues {
  symbol?: string | undefined;
  freq?: string | undefined;
}

export function substitutePlaceholders(value: unknown, values: PlaceholderValues): unknown {
  if (typeof value === "string") return substituteString(value, values);
  if (Array.isArray(value)) return value.map((v) => substitutePlaceholders(v, values));
  if (typeof value === "object" && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = substitutePlaceholders(v, values);
    return out;
  }
  return value;
}

function substituteString(s: string, { symbol, freq }: PlaceholderValues): string {
  let out = s;
  if (symbol !== undefined) out = out.replaceAll("{symbol}", symbol);
  if (freq !== undefined) out = out.replaceAll("{freq}", freq);
  return out;
}
