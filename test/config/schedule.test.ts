import { describe, expect, test } from "vitest";
import { parseConfigText } from "../../src/config/index.js";
import { ConfigError } from "../../src/core/errors.js";

/** The `schedule` section: cron expressions checked by croner, strict keys, JSON paths in every issue. */
const ROLLING = { prediction_size: 1440, prediction_steps: 3 };
const load = (schedule: unknown, rest: object = { rolling_predict: ROLLING }) =>
  parseConfigText(JSON.stringify({ symbol: "BTCUSDT", freq: "1m", schedule, ...rest }), "live.json").config;

function issuesOf(schedule: unknown, rest?: object): readonly string[] {
  try {
    load(schedule, rest);
  } catch (err) {
    if (err instanceof ConfigError) return err.issues;
    throw err;
  }
  return [];
}

describe("schedule", () => {
  test("a cron expression with the defaults filled in", () => {
    expect(load({ retrain: "0 3 * * 0" }).schedule).toEqual({
      retrain: "0 3 * * 0",
      timezone: "UTC",
      auc_tolerance: 0.005,
    });
    expect(load({ retrain: "30 1 * * *", timezone: "Europe/Berlin", auc_tolerance: -1 }).schedule).toEqual({
      retrain: "30 1 * * *",
      timezone: "Europe/Berlin",
      auc_tolerance: -1,
    });
    expect(
      parseConfigText(JSON.stringify({ symbol: "BTCUSDT" }), "live.json").config.schedule,
    ).toBeUndefined();
  });

  test("a bad cron expression is a ConfigError naming schedule.retrain and croner's reason", () => {
    expect(() => load({ retrain: "61 * * * *" })).toThrow(ConfigError);
    expect(issuesOf({ retrain: "61 * * * *" })).toEqual([
      'schedule.retrain: expected a cron expression "minute hour day-of-month month day-of-week" such as "0 3 * * 0" (invalid value for minute: 61), found "61 * * * *"',
    ]);
    const [short] = issuesOf({ retrain: "0 3 * *" });
    expect(short).toMatch(
      /^schedule\.retrain: expected a cron expression .*five, six, or seven .*found "0 3 \* \*"$/,
    );
    expect(issuesOf({ retrain: 3 })).toEqual([
      'schedule.retrain: expected a cron expression "minute hour day-of-month month day-of-week" such as "0 3 * * 0", found 3',
    ]);
  });

  test("every mistake of the section at once, each at its path", () => {
    expect(issuesOf({ retrian: "0 3 * * 0", timezone: "Mars/Olympus", auc_tolerance: 2 })).toEqual([
      'schedule.timezone: expected an IANA time zone such as "UTC" or "Europe/Berlin", found "Mars/Olympus"',
      "schedule.auc_tolerance: expected a number in [-1, 1], found 2",
      'schedule.retrian: unknown key; did you mean "retrain"?',
    ]);
    expect(issuesOf("0 3 * * 0")).toEqual(['schedule: expected an object, found "0 3 * * 0"']);
  });

  test("retraining without a walk-forward to judge the new models by is refused", () => {
    expect(issuesOf({ retrain: "0 3 * * 0" }, {})).toEqual([
      "schedule.retrain: scheduled retraining judges the new models by their walk-forward AUC: add a rolling_predict section",
    ]);
    expect(load({ auc_tolerance: 0.01 }, {}).schedule?.retrain).toBeUndefined();
  });
});
