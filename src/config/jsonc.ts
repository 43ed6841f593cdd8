import { type Node, type ParseError, parse, parseTree, printParseErrorCode } from "jsonc-parser";
import { ConfigError } from "../core/errors.js";
import { formatPath } from "./format.js";

/**
 * JSONC as editors understand it: `//` and `/* *\/` comments and trailing commas, parsed by a
 * real tokenizer, so `https://…` inside a string stays intact (the original stripped every `//`
 * to the end of the line with a regular expression, which cut such URLs).
 */
export interface JsoncResult {
  value: unknown;
  /** Duplicate keys: legal JSON, but the last one silently wins, which is rarely intended. */
  warnings: string[];
}

// Keyed by printParseErrorCode names: ParseErrorCode is a const enum, which isolated modules cannot read.
const EXPECTED: Record<string, string> = {
  InvalidSymbol: "expected a value, a property name in double quotes or a comment",
  InvalidNumberFormat: "expected a number",
  PropertyNameExpected: "expected a property name in double quotes",
  ValueExpected: "expected a value",
  ColonExpected: 'expected ":"',
  CommaExpected: 'expected ","',
  CloseBraceExpected: 'expected "}"',
  CloseBracketExpected: 'expected "]"',
  EndOfFileExpected: "expected the end of the file",
  InvalidCommentToken: "expected a comment (// or /* */)",
  UnexpectedEndOfComment: 'expected "*/" to close the comment',
  UnexpectedEndOfString: 'expected a closing " on the same line',
  UnexpectedEndOfNumber: "expected digits",
  InvalidUnicode: "expected four hex digits after \\u",
  InvalidEscapeCharacter: 'expected an escape such as \\n, \\" or \\\\',
  InvalidCharacter: "expected no control characters inside a string",
};

/** 1-based line and column of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(offset, text.length);
  for (let i = 0; i < end; i++) {
    if (text.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: end - lineStart + 1 };
}

function foundToken(text: string, error: ParseError): string {
  if (error.offset >= text.length) return "the end of the file";
  const token =
    error.length > 0 ? text.slice(error.offset, error.offset + error.length) : text.charAt(error.offset);
  const shown = (token.length > 30 ? `${token.slice(0, 30)}…` : token).replace(/\r?\n/g, "\\n");
  // A token that is itself a quoted string reads best as written; anything else gets quotes.
  return /^["']/.test(shown) ? shown : `"${shown}"`;
}

/**
 * Parses JSONC text. A syntax error throws a ConfigError naming `<source>:<line>:<column>`, what
 * was expected and what was found. Only the first error is reported: the parser recovers and
 * goes on, and the errors after the first are usually its consequences.
 */
export function parseJsonc(text: string, source: string, what = "config"): JsoncResult {
  // A byte-order mark is not JSON whitespace, but Windows editors write one.
  const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  const errors: ParseError[] = [];
  const value: unknown = parse(body, errors, { allowTrailingComma: true, disallowComments: false });
  const first = errors[0];
  if (first !== undefined) {
    const { line, column } = lineColumn(body, first.offset);
    const code = printParseErrorCode(first.error);
    // Single quotes are the most common slip from JavaScript habits; name the fix.
    const singleQuoted = code === "InvalidSymbol" && body.charAt(first.offset) === "'";
    const expected = singleQuoted
      ? "expected a string in double quotes"
      : (EXPECTED[code] ?? "expected valid JSONC");
    const issue =
      body.trim() === ""
        ? `${source}:1:1: expected a JSON object, found an empty file`
        : `${source}:${line}:${column}: ${expected}, found ${foundToken(body, first)}`;
    throw new ConfigError(`${what} ${source} is not valid JSONC:\n  ${issue}`, [issue]);
  }
  return { value, warnings: duplicateKeyWarnings(body, source) };
}

function duplicateKeyWarnings(text: string, source: string): string[] {
  const root = parseTree(text, undefined, { allowTrailingComma: true });
  const warnings: string[] = [];
  const visit = (node: Node, path: PropertyKey[]): void => {
    if (node.type === "object") {
      const seen = new Set<string>();
      for (const prop of node.children ?? []) {
        const [keyNode, valueNode] = prop.children ?? [];
        if (keyNode === undefined || typeof keyNode.value !== "string") continue;
        const key = keyNode.value;
        if (seen.has(key)) {
          const { line } = lineColumn(text, keyNode.offset);
          warnings.push(
            `duplicate key "${key}" at ${formatPath([...path, key])} (${source}:${line}); the last one wins`,
          );
        }
        seen.add(key);
        if (valueNode !== undefined) visit(valueNode, [...path, key]);
      }
    } else if (node.type === "array") {
      (node.children ?? []).forEach((child, i) => {
        visit(child, [...path, i]);
      });
    }
  };
  if (root !== undefined) visit(root, []);
  return warnings;
}
