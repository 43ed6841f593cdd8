import {
  ApiError,
  type ControlAnswer,
  forgetToken,
  getJson,
  postJson,
  type Session,
  saveToken,
  setUnauthorizedHandler,
  token,
} from "./api.js";
import { byId, fill, h } from "./dom.js";

/**
 * What every page shares: the login (the token asked for once per browser tab, kept in
 * sessionStorage), the session's scopes, the header, notices. Without a token the page shows the
 * login and makes no data request; a 401 anywhere brings the login back.
 */

export interface PageContext {
  session: Session;
  /** Whether the control buttons show: the token has the control scope and a service runs. */
  canControl: boolean;
  /** Where the page draws. */
  app: HTMLElement;
  /** Aborted when the page is torn down (logout, token refused). */
  signal: AbortSignal;
}

type Page = (ctx: PageContext) => Promise<void>;

let running: AbortController | undefined;

function setState(state: "login" | "loading" | "ready" | "error"): void {
  document.body.dataset.state = state;
}

function stop(): void {
  running?.abort();
  running = undefined;
  fill(byId("app"));
}

function showLogin(message: string): void {
  stop();
  byId("app").hidden = true;
  byId("logout").hidden = true;
  fill(byId("session-info"));
  const login = byId("login");
  login.hidden = false;
  fill(byId("login-error"), message);
  setState("login");
  byId<HTMLInputElement>("login-token").focus();
}

async function start(page: Page, session: Session): Promise<void> {
  stop();
  running = new AbortController();
  const app = byId("app");
  byId("login").hidden = true;
  app.hidden = false;
  byId("logout").hidden = false;
  const control = session.scopes.includes("control") && session.mode === "serve";
  document.body.dataset.control = String(control);
  fill(
    byId("session-info"),
    h("span", { class: "badge" }, session.mode === "ui" ? "research" : "live service"),
    h("span", { class: "badge" }, control ? "read + control" : "read only"),
  );
  setState("loading");
  try {
    await page({ session, canControl: control, app, signal: running.signal });
    if (running?.signal.aborted === false) setState("ready");
  } catch (err) {
    if (running?.signal.aborted !== false) return;
    if (err instanceof ApiError && err.status === 401) return;
    fill(
      app,
      h(
        "section",
        { class: "card page-error", role: "alert" },
        h("h1", {}, "Could not load this page"),
        h("p", { id: "page-error" }, err instanceof Error ? err.message : String(err)),
        h("p", {}, h("a", { href: "/" }, "Back to the overview")),
      ),
    );
    setState("error");
  }
}

/** Starts a page: the login first when no token is kept, then `page`. */
export function boot(page: Page): void {
  setUnauthorizedHandler((message) =>
    showLogin(message === "" ? "" : `The service refused the token (${message}). Log in again.`),
  );
  byId("logout").addEventListener("click", () => {
    forgetToken();
    showLogin("");
  });
  byId<HTMLFormElement>("login-form").addEventListener("submit", (e) => {
    e.preventDefault();
    void login(page);
  });
  if (token() === null) {
    showLogin("");
    return;
  }
  void (async () => {
    try {
      const session = await getJson<Session>("/api/v1/session");
      await start(page, session);
    } catch (err) {
      if (err instanceof ApiError && err.status === 401) return;
      showLogin(`Could not reach the service: ${err instanceof Error ? err.message : String(err)}`);
    }
  })();
}

async function login(page: Page): Promise<void> {
  const input = byId<HTMLInputElement>("login-token");
  const button = byId<HTMLButtonElement>("login-submit");
  const t = input.value.trim();
  if (t === "") {
    fill(byId("login-error"), "Enter an API token of this service.");
    return;
  }
  button.disabled = true;
  try {
    const session = await getJson<Session>("/api/v1/session", { token: t });
    saveToken(t);
    input.value = "";
    await start(page, session);
  } catch (err) {
    let text = err instanceof Error ? err.message : String(err);
    if (err instanceof ApiError && err.status === 401) text = "This token was refused.";
    else if (err instanceof ApiError && err.status === 429) {
      text = `Too many failed attempts: try again in ${err.retryAfterSeconds ?? 60} s.`;
    }
    fill(byId("login-error"), text);
  } finally {
    button.disabled = false;
  }
}

/** A message at the top of the page (control outcomes, errors); fades after a while. */
export function notice(text: string, kind: "ok" | "error" = "ok"): void {
  const box = byId("notices");
  const el = h("div", { class: `notice ${kind}`, role: kind === "error" ? "alert" : "status" }, text);
  box.append(el);
  setTimeout(() => el.remove(), kind === "error" ? 15_000 : 6_000);
}

/**
 * A control button: asks first when `confirm` is given, POSTs, then says which markets took it
 * and calls `after`.
 */
export function controlButton(o: {
  label: string;
  action: string;
  path: string;
  body?: unknown;
  confirm?: string;
  danger?: boolean;
  after?: () => void;
}): HTMLButtonElement {
  const b = h(
    "button",
    { type: "button", class: o.danger ? "danger" : "", "data-action": o.action },
    o.label,
  );
  b.addEventListener("click", () => {
    if (o.confirm !== undefined && !window.confirm(o.confirm)) return;
    b.disabled = true;
    void (async () => {
      try {
        const answer = await postJson<ControlAnswer | { name: string; version: number }>(
          o.path,
          o.body ?? {},
        );
        notice(
          "markets" in answer
            ? `${answer.action}: ${answer.markets.join(", ")} (from the next candle)`
            : `${answer.name}: version ${answer.version} is now current`,
        );
        o.after?.();
      } catch (err) {
        if (!(err instanceof ApiError && err.status === 401)) {
          notice(`${o.label} failed: ${err instanceof Error ? err.message : String(err)}`, "error");
        }
      } finally {
        b.disabled = false;
      }
    })();
  });
  return b;
}

/** A coloured label: health, trading mode, signals. */
export function badge(text: string, kind: string): HTMLElement {
  return h("span", { class: `badge ${kind}` }, text);
}

export function healthBadge(health: { status: string; detail: string | null }): HTMLElement {
  const kind =
    health.status === "ok"
      ? "good"
      : health.status === "warming up" || health.status === "stored"
        ? "info"
        : health.status === "stale"
          ? "warn"
          : "bad";
  const b = badge(health.status, kind);
  if (health.detail !== null) b.title = health.detail;
  return b;
}
