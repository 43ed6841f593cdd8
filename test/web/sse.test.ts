import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { type SseEvent, SseParser } from "../../web/src/sse.js";

/**
 * The pages' event-stream parser (web/src/sse.ts), on the API's own framing and on the rest of
 * the format: any split of the bytes into pieces gives the same events.
 */

const STREAM =
  ": connected\n\n" +
  'event: candle\ndata: {"market":"BTCUSDT-1m","time":1679270400000}\n\n' +
  ": ping\n\n" +
  "event: fill\r\ndata: line one\r\ndata: line two\r\n\r\n" +
  "data:no space\rdata:  two spaces\r\r" +
  "event: control\nid: 7\nretry: 1000\ndata\nunknown: x\n\n" +
  "event: trade\n\n" +
  'event: order\ndata: {"side":"buy"}\n\n';

const EXPECTED: SseEvent[] = [
  { event: "candle", data: '{"market":"BTCUSDT-1m","time":1679270400000}' },
  { event: "fill", data: "line one\nline two" },
  { event: "message", data: "no space\n two spaces" },
  { event: "control", data: "" },
  // an event without data is not dispatched (the trade above), and its name does not carry over
  { event: "order", data: '{"side":"buy"}' },
];

function parseIn(pieces: readonly string[]): SseEvent[] {
  const p = new SseParser();
  return pieces.flatMap((s) => p.push(s));
}

describe("SseParser", () => {
  it("reads the API's events, comments, CRLF and CR line ends, multi-line data", () => {
    expect(parseIn([STREAM])).toEqual(EXPECTED);
  });

  it("gives the same events for any split of the stream into pieces", () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: STREAM.length - 1 }), { maxLength: 20 }),
        (cuts) => {
          const at = [0, ...cuts.sort((a, b) => a - b), STREAM.length];
          const pieces = at.slice(1).map((end, i) => STREAM.slice(at[i], end));
          expect(parseIn(pieces)).toEqual(EXPECTED);
        },
      ),
      { numRuns: 300 },
    );
    // a CRLF split between two pieces is one line end, not two
    expect(parseIn(["event: a\r", "\ndata: 1\r", "\n\r", "\n"])).toEqual([{ event: "a", data: "1" }]);
  });

  it("keeps an unfinished event until its blank line arrives", () => {
    const p = new SseParser();
    expect(p.push("event: candle\ndata: {}")).toEqual([]);
    expect(p.push("\n")).toEqual([]);
    expect(p.push("\n")).toEqual([{ event: "candle", data: "{}" }]);
  });
});
