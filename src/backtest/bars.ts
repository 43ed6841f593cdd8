import type { Frame } from "../core/frame.js";
import type { Bars } from "./types.js";

/** The candle columns of a table as the engine's Bars (views, no copy); the table must have open, high, low and close. */
export function barsOf(frame: Frame): Bars {
  return {
    time: frame.time,
    open: frame.get("open"),
    high: frame.get("high"),
    low: frame.get("low"),
    close: frame.get("close"),
  };
}
