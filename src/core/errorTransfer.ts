import * as errors from "./errors.js";
import { ItbError } from "./errors.js";

/**
 * Errors crossing a thread boundary. postMessage clones an Error as a plain Error: the class,
 * `action`, `exitCode` and the fields of an ItbError would be lost, and a DataError thrown in a
 * worker would reach the CLI as an internal error with a stack trace. So the thread that
 * catches an error sends `serializeError(err)` and the receiving thread calls `reviveError`:
 *
 * - an ItbError of src/core/errors.ts arrives as the same class, with the same message, stack,
 *   `action`, `exitCode`, every other field (file, row, issues, status, ...) and its cause;
 * - a subclass defined in another layer (which core cannot import) arrives as its nearest
 *   ancestor of errors.ts, keeping its name, message, fields, action and exit code;
 * - any other error arrives as Error (or the built-in class it was: TypeError, RangeError, ...)
 *   with its name, message and the stack of the thread that threw it.
 */

export interface SerializedError {
  /** Constructor names from the error's class up: ["DataError", "ItbError", "Error"]. */
  classes: string[];
  message: string;
  stack?: string;
  /** The error's own enumerable fields that survive structured cloning (name, action, exitCode, file, ...). */
  fields: Record<string, unknown>;
  cause?: { error: SerializedError } | { value: unknown };
}

type ErrorClass = abstract new (...args: never[]) => Error;

/** Every ItbError class of errors.ts (found, not listed, so a new class cannot be forgotten), and the built-ins. */
const CLASSES = new Map<string, ErrorClass>();
for (const value of Object.values(errors)) {
  if (typeof value === "function" && (value === ItbError || value.prototype instanceof ItbError)) {
    CLASSES.set(value.name, value as ErrorClass);
  }
}
for (const C of [Error, TypeError, RangeError, SyntaxError, ReferenceError, EvalError, URIError]) {
  CLASSES.set(C.name, C);
}

/** Causes nested deeper than this are cut (a cycle of causes would never end). */
const MAX_CAUSE_DEPTH = 8;

function cloneable(value: unknown): boolean {
  if (typeof value === "function" || typeof value === "symbol") return false;
  try {
    structuredClone(value);
    return true;
  } catch {
    return false;
  }
}

export function serializeError(err: unknown, depth = 0): SerializedError {
  if (!(err instanceof Error)) return { classes: ["Error"], message: String(err), fields: {} };
  const classes: string[] = [];
  for (let p: unknown = Object.getPrototypeOf(err); p !== null && p !== Object.prototype; ) {
    const ctor = (p as { constructor?: { name?: unknown } }).constructor;
    if (typeof ctor?.name === "string") classes.push(ctor.name);
    p = Object.getPrototypeOf(p);
  }
  const fields: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(err)) {
    if (key !== "message" && key !== "stack" && key !== "cause" && cloneable(value)) fields[key] = value;
  }
  const out: SerializedError = { classes, message: err.message, fields };
  if (err.stack !== undefined) out.stack = err.stack;
  if ("cause" in err && depth < MAX_CAUSE_DEPTH) {
    const cause: unknown = err.cause;
    out.cause =
      cause instanceof Error
        ? { error: serializeError(cause, depth + 1) }
        : { value: cloneable(cause) ? cause : String(cause) };
  }
  return out;
}

export function reviveError(s: SerializedError): Error {
  const cls = s.classes.map((name) => CLASSES.get(name)).find((c) => c !== undefined) ?? Error;
  const cause =
    s.cause === undefined ? undefined : "error" in s.cause ? reviveError(s.cause.error) : s.cause.value;
  // A native Error whose prototype is the class's, built without running the class's
  // constructor: DataError's would prefix the file and row to a message that has them already.
  const err: Error = Reflect.construct(
    Error,
    s.cause === undefined ? [s.message] : [s.message, { cause }],
    cls as unknown as new (
      ...args: unknown[]
    ) => Error,
  );
  Object.assign(err, s.fields);
  const name = s.classes[0];
  if (err.name !== name && name !== undefined && s.fields.name === undefined) err.name = name;
  if (s.stack !== undefined) {
    Object.defineProperty(err, "stack", { value: s.stack, writable: true, configurable: true });
  }
  return err;
}
