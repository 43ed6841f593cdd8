import { describe, expect, it } from "vitest";
import { parseConfigText, parseJsonc } from "../../src/config/index.js";
import { ConfigError } from "../../src/core/errors.js";

function syntaxError(text: string): ConfigError {
  try {
    parseConfigText(text, "bad.jsonc", {}, {});
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error("expected a ConfigError");
}

describe("JSONC", () => {
  it("accepts line and block comments and trailing commas", () => {
    const text = `// leading comment
{
  /* block
     comment */
  "symbol": "BTCUSDT", // trailing comment
  "labels": ["high_20", "low_20",],
  "data_sources": [{ "folder": "BTCUSDT", },],
}
`;
    const { config } = parseConfigText(text, "ok.jsonc", {}, {});
    expect(config.symbol).toBe("BTCUSDT");
    expect(config.labels).toEqual(["high_20", "low_20"]);
    expect(config.data_sources.map((d) => d.folder)).toEqual(["BTCUSDT"]);
  });

  it("keeps // and /* */ inside strings", () => {
    const text = `{
  "symbol": "BTCUSDT",
  "archive_url": "https://data.binance.vision/", // a real comment after a URL
  "exchange_url": "http://127.0.0.1:8080/api",
  "description": "a /* not a comment */ b // nor this"
}`;
    const { config } = parseConfigText(text, "ok.jsonc", {}, {});
    expect(config.archive_url).toBe("https://data.binance.vision/");
    expect(config.exchange_url).toBe("http://127.0.0.1:8080/api");
    expect(config.description).toBe("a /* not a comment */ b // nor this");
  });

  it("accepts a byte-order mark", () => {
    expect(parseJsonc('\uFEFF{"a": 1}', "bom.jsonc").value).toEqual({ a: 1 });
  });

  it("warns about duplicate keys, naming path and line", () => {
    const { warnings } = parseJsonc('{\n  "freq": "1m",\n  "freq": "1h"\n}', "dup.jsonc");
    expect(warnings).toEqual(['duplicate key "freq" at freq (dup.jsonc:3); the last one wins']);
  });

  it.each([
    ['{\n  "symbol": "BTCUSDT"\n  "freq": "1m"\n}', 'bad.jsonc:3:3: expected ",", found "freq"'],
    ["{\n  'symbol': 'BTCUSDT'\n}", "bad.jsonc:2:3: expected a string in double quotes, found 'symbol'"],
    ['{\n  "symbol": "BTCUSDT",\n  "labels": ["a",, "b"]\n}', 'bad.jsonc:3:18: expected a value, found ","'],
    ['{\n  "symbol": "BTCUSDT"\n', 'bad.jsonc:3:1: expected "}", found the end of the file'],
    ['{"symbol": "BTCUSDT"} {}', 'bad.jsonc:1:23: expected the end of the file, found "{"'],
    [
      '{\n  "symbol": "BTCUSDT",\n  /* unterminated\n}',
      'bad.jsonc:3:3: expected "*/" to close the comment, found "/* unterminated\\n}"',
    ],
    ["", "bad.jsonc:1:1: expected a JSON object, found an empty file"],
  ])("names file, line, column and what was expected: %j", (text, line) => {
    const err = syntaxError(text);
    expect(err.issues).toEqual([line]);
    expect(err.message).toBe(`config bad.jsonc is not valid JSONC:\n  ${line}`);
    expect(err.exitCode).toBe(2);
  });
});
