import { Frame } from "../core/frame.js";
import { frameInputs, frameOutputs, type ResolvedSet, runSets, streamSets } from "./featureSets.js";

export interface ColumnCheck {
  column: string;
  generator: string;
  /** False when a value at some row t changed once rows after t were added: lookahead. */
  prefixOk: boolean;
  /** False when the streaming value drifts from batch after the warm-up; null: no streaming form. */
  streamOk: boolean | null;
  /** First offending row and its values, for the report. */
  firstBad?: { kind: "prefix" | "stream"; row: number; time: number; batch: number; other: number };
}

export interface LookaheadOptions {
  /** Number of evenly spaced truncation points (rows inside gaps are added to them). */
  checkpoints?: number;
  /** Relative tolerance |a−b| / max(1, |b|). */
  tolerance?: number;
}

function copyFrame(f: Frame): Frame {
  return new Frame(f.time, f.columns());
}

function differs(a: number, b: number, tol: number): boolean {
  if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) !== Number.isNaN(b);
  return Math.abs(a - b) / Math.max(1, Math.abs(b)) > tol;
}

/** Truncation rows: evenly spaced, plus the first row of every NaN run in the inputs (gaps). */
export function checkpointRows(frame: Frame, inputs: readonly string[], count: number): number[] {
  const n = frame.length;
  const rows = new Set<number>();
  for (let k = 1; k <= count; k++) rows.add(Math.min(n - 1, Math.floor((n * k) / (count + 1))));
  for (const c of new Set(inputs)) {
    if (!frame.has(c)) continue;
    const x = frame.get(c);
    let seen = false;
    for (let i = 0; i < n; i++) {
      const nan = Number.isNaN(x[i] as number);
      if (!nan) seen = true;
      else if (seen && !Number.isNaN(x[i - 1] as number)) rows.add(i);
    }
  }
  return [...rows].filter((r) => r > 0).sort((a, b) => a - b);
}

/**
 * Proves, for each generated column, that (1) a value at row t is the same whether or not later
 * rows exist — computed on the table truncated after t for each checkpoint t — and (2) feeding
 * the rows one at a time through the streaming path gives the batch values after the warm-up.
 */
export async function checkLookahead(
  frame: Frame,
  sets: readonly ResolvedSet[],
  opts: LookaheadOptions = {},
): Promise<ColumnCheck[]> {
  const tol = opts.tolerance ?? 1e-9;
  const full = copyFrame(frame);
  await runSets(full, sets);
  const checks: ColumnCheck[] = [];
  const byColumn = new Map<string, ColumnCheck>();
  for (const s of sets) {
    for (const c of frameOutputs(s)) {
      const check: ColumnCheck = {
        column: c,
        generator: s.name,
        prefixOk: true,
        streamOk: s.generator.stream ? true : null,
      };
      checks.push(check);
      byColumn.set(c, check);
    }
  }
  const inputs = sets.flatMap((s) => frameInputs(s));
  for (const t of checkpointRows(frame, inputs, opts.checkpoints ?? 12)) {
    const part = frame.slice(0, t + 1);
    await runSets(part, sets);
    for (const check of checks) {
      if (!check.prefixOk) continue;
      const a = part.get(check.column);
      const b = full.get(check.column);
      for (let i = 0; i <= t; i++) {
        if (differs(a[i] as number, b[i] as number, tol)) {
          check.prefixOk = false;
          check.firstBad = {
            kind: "prefix",
            row: i,
            time: frame.time[i] as number,
            batch: b[i] as number,
            other: a[i] as number,
          };
          break;
        }
      }
    }
  }
  if (sets.every((s) => s.generator.stream)) {
    const streamed = streamSets(frame, sets);
    for (const s of sets) {
      const warm = s.generator.warmup(s.config);
      const ins = frameInputs(s)
        .filter((c) => frame.has(c))
        .map((c) => frame.get(c));
      let first = 0;
      while (first < frame.length && ins.some((x) => Number.isNaN(x[first] as number))) first++;
      for (const c of frameOutputs(s)) {
        const check = byColumn.get(c) as ColumnCheck;
        const a = streamed.get(c);
        const b = full.get(c);
        for (let i = first + warm; i < frame.length; i++) {
          if (differs(a[i] as number, b[i] as number, tol)) {
            check.streamOk = false;
            check.firstBad ??= {
              kind: "stream",
              row: i,
              time: frame.time[i] as number,
              batch: b[i] as number,
              other: a[i] as number,
            };
            break;
          }
        }
      }
    }
  } else {
    // Without a streaming form for every set, later sets can't be streamed on streamed inputs.
    for (const check of checks) if (check.streamOk === true) check.streamOk = null;
  }
  return checks;
}
