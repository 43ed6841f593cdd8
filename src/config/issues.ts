import type { z } from "zod";
import { describeKind, formatPath, formatValue } from "./format.js";
import { isSecretKey, isUrlSecretKey, maskUrl } from "./secrets.js";

/**
 * One line per validation issue: `<path>: expected <what>, found <value>`. Schemas phrase their
 * messages as "expected …"; such a message gets the found value appended. A message that is a
 * whole sentence already (an unknown generator names its value) is used as it is.
 */
export function issueLine(issue: z.core.$ZodIssue): string {
  const path = formatPath(issue.path);
  const message = issue.message;
  if (!message.startsWith("expected ")) return `${path}: ${message}`;
  // A credential of the wrong type is still a credential: name its kind, not its value.
  const secret = issue.path.some((k) => isSecretKey(k));
  // A URL that may hold a password: shown with the password masked.
  const url = issue.path.some((k) => isUrlSecretKey(k)) && typeof issue.input === "string";
  const found = secret
    ? describeKind(issue.input)
    : url
      ? JSON.stringify(maskUrl(issue.input as string))
      : formatValue(issue.input);
  return `${path}: ${message}, found ${found}`;
}

const TYPE_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "an integer",
  boolean: "true or false",
  object: "an object",
  array: "an array",
  record: "an object",
  null: "null",
};

/**
 * The fallback wording for a check whose schema has no message of its own, in the same
 * "expected …" form. Passed per parse, so other modules' zod messages are not affected.
 */
export const expectedErrorMap: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case "invalid_type":
      return `expected ${TYPE_NAMES[issue.expected] ?? issue.expected}`;
    case "invalid_value":
      return `expected ${issue.values.map((v) => JSON.stringify(v)).join(" or ")}`;
    case "too_small":
      return issue.origin === "array"
        ? `expected at least ${issue.minimum} item(s)`
        : issue.origin === "string"
          ? `expected at least ${issue.minimum} character(s)`
          : `expected a number ${issue.inclusive ? "≥" : ">"} ${issue.minimum}`;
    case "too_big":
      return issue.origin === "array"
        ? `expected at most ${issue.maximum} item(s)`
        : issue.origin === "string"
          ? `expected at most ${issue.maximum} character(s)`
          : `expected a number ${issue.inclusive ? "≤" : "<"} ${issue.maximum}`;
    case "invalid_union":
      return "expected one of the allowed forms";
    case "invalid_format":
      return `expected a ${issue.format}`;
    default:
      return undefined;
  }
};
