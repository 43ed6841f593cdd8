import { describe, expect, it } from "vitest";
import { canonicalJson, parseConfigText } from "../../src/config/index.js";

const hashOf = (text: string) => parseConfigText(text, "h.jsonc", {}, {}).hash;

describe("config hash", () => {
  const plain = hashOf(
    '{"symbol": "BTCUSDT", "freq": "1h", "labels": ["high_20", "low_20"], "data_sources": [{"folder": "BTCUSDT", "market": "spot"}]}',
  );

  it("is SHA-256 hex", () => {
    expect(plain).toMatch(/^[0-9a-f]{64}$/);
  });

  it("does not depend on key order, comments or formatting", () => {
    const reordered = hashOf(`// the same config, written differently
{
  "data_sources": [ { "market": "spot", /* inline */ "folder": "BTCUSDT", }, ],
  "labels": ["high_20", "low_20"], // order inside arrays matters, order of keys does not
  "freq": "1h",
  "symbol": "BTCUSDT",
}`);
    expect(reordered).toBe(plain);
  });

  it("does not change when a default is spelled out", () => {
    const explicit = hashOf(
      '{"symbol": "BTCUSDT", "freq": "1h", "labels": ["high_20", "low_20"], "venue": "binance", "merge_max_gap": 5, "data_sources": [{"folder": "BTCUSDT", "file": "klines", "column_prefix": ""}]}',
    );
    expect(explicit).toBe(plain);
  });

  it("changes with any value and with the order of an array", () => {
    expect(hashOf('{"symbol": "BTCUSDT", "freq": "1h", "labels": ["low_20", "high_20"]}')).not.toBe(plain);
    expect(hashOf('{"symbol": "BTCUSDT", "freq": "1m", "labels": ["high_20", "low_20"]}')).not.toBe(plain);
  });

  it("does not depend on $schema", () => {
    const withSchema = hashOf(
      '{"$schema": "./itb.schema.json", "symbol": "BTCUSDT", "freq": "1h", "labels": ["high_20", "low_20"]}',
    );
    expect(withSchema).toBe(plain);
  });
});

describe("canonicalJson", () => {
  it("sorts keys at every depth and keeps array order", () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, u: undefined })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"b":1}',
    );
  });
});
