import { describe, expect, test } from "vitest";
import { isLoopback, TokenGuard } from "../../src/server/auth.js";

/** The API's bearer tokens: scopes, refusals with their status, and the failed-attempt limit. */

const READ = "read-token-0123456789abcdef";
const CONTROL = "control-token-0123456789abcdef";

function guard(now: { t: number }) {
  return new TokenGuard(
    [
      { token: READ, scope: "read" },
      { token: CONTROL, scope: "control" },
    ],
    { maxFailures: 3, windowMs: 60_000, now: () => now.t },
  );
}

describe("TokenGuard", () => {
  test("a read token reads and may not control; a control token does both", () => {
    const g = guard({ t: 0 });
    expect(g.check(`Bearer ${READ}`, "read", "a")).toEqual({ ok: true, scope: "read" });
    expect(g.check(`Bearer ${READ}`, "control", "a")).toEqual({
      ok: false,
      status: 403,
      reason: "this token may read, not control",
    });
    expect(g.check(`bearer ${CONTROL}`, "read", "a")).toEqual({ ok: true, scope: "control" });
    expect(g.check(`Bearer ${CONTROL}`, "control", "a")).toEqual({ ok: true, scope: "control" });
  });

  test("no token, another scheme, or an unknown token is 401, whatever its length", () => {
    const g = guard({ t: 0 });
    expect(g.check(undefined, "read", "a")).toMatchObject({
      ok: false,
      status: 401,
      reason: "a bearer token is required",
    });
    expect(g.check(`Basic ${READ}`, "read", "b")).toMatchObject({ status: 401 });
    expect(g.check("Bearer x", "read", "c")).toMatchObject({ status: 401, reason: "unknown token" });
    expect(g.check(`Bearer ${READ}x`, "read", "d")).toMatchObject({ status: 401 });
    expect(g.check(`Bearer ${"y".repeat(5000)}`, "read", "e")).toMatchObject({ status: 401 });
  });

  test("an address that keeps failing is refused for the window, even with a good token; others are not", () => {
    const now = { t: 1_000_000 };
    const g = guard(now);
    for (let i = 0; i < 3; i++)
      expect(g.check("Bearer wrong", "read", "10.0.0.9")).toMatchObject({ status: 401 });
    now.t += 10_000;
    expect(g.check(`Bearer ${READ}`, "read", "10.0.0.9")).toEqual({
      ok: false,
      status: 429,
      reason: "too many failed attempts",
      retryAfterSeconds: 50,
    });
    expect(g.check(`Bearer ${READ}`, "read", "10.0.0.8")).toEqual({ ok: true, scope: "read" });
    now.t += 50_001;
    expect(g.check(`Bearer ${READ}`, "read", "10.0.0.9")).toEqual({ ok: true, scope: "read" });
  });

  test("short tokens are refused when configured; the error does not show the token", () => {
    expect(() => new TokenGuard([{ token: "short-secret", scope: "control" }])).toThrow(
      "an API token must have at least 16 characters (a control token has 12)",
    );
    expect(new TokenGuard([]).hasTokens).toBe(false);
  });
});

describe("isLoopback", () => {
  test.each([
    ["127.0.0.1", true],
    ["127.1.2.3", true],
    ["::1", true],
    ["[::1]", true],
    ["localhost", true],
    ["0.0.0.0", false],
    ["::", false],
    ["192.168.1.10", false],
    ["example.com", false],
  ])("%s → %s", (host, expected) => {
    expect(isLoopback(host)).toBe(expected);
  });
});
