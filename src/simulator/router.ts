import type { Market } from "../data/archive/source.js";
import type { SimState } from "./state.js";

/**
 * The route table. Each endpoint declares its method, path, which market's weight budget it
 * draws on and how much, and its security type; the server applies faults, weight and
 * recording uniformly. Order endpoints (a later issue) are added as more rows with security
 * `SIGNED` and handlers over the account state, without touching the pipeline.
 */

export interface Reply {
  status: number;
  body: string | Uint8Array;
  contentType?: string;
  headers?: Record<string, string>;
}

export interface RequestContext {
  method: string;
  path: string;
  params: URLSearchParams;
  /** The raw query string, without its `?` (signatures cover it as sent). */
  query: string;
  /** Request headers, lower-case names. */
  headers: Record<string, string | string[] | undefined>;
  /** Raw request body (POST/PUT/DELETE); "" for GET. */
  body: string;
  state: SimState;
}

export type Security = "NONE" | "MARKET_DATA" | "USER_STREAM" | "TRADE" | "USER_DATA";

export interface Route {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Exact path, or a prefix when `prefix` is set. */
  path: string;
  prefix?: boolean;
  /** Whose request-weight budget the endpoint uses; none for admin and archive files. */
  market?: Market;
  weight?: (params: URLSearchParams) => number;
  security?: Security;
  /** Admin endpoints: never faulted, never recorded. */
  admin?: boolean;
  handle(ctx: RequestContext): Reply | Promise<Reply>;
}

export class Router {
  private readonly exact = new Map<string, Route>();
  private readonly prefixes: Route[] = [];

  add(routes: readonly Route[]): this {
    for (const r of routes) {
      if (r.prefix) this.prefixes.push(r);
      else this.exact.set(`${r.method} ${r.path}`, r);
    }
    return this;
  }

  /** The route for a request (HEAD is answered by the GET route without a body). */
  match(method: string, path: string): Route | undefined {
    const m = method === "HEAD" ? "GET" : method;
    return (
      this.exact.get(`${m} ${path}`) ?? this.prefixes.find((r) => r.method === m && path.startsWith(r.path))
    );
  }

  /** Whether some route serves the path with another method (405 rather than 404). */
  hasPath(path: string): boolean {
    for (const r of this.exact.values()) if (r.path === path) return true;
    return this.prefixes.some((r) => path.startsWith(r.path));
  }
}

export function json(body: unknown, status = 200): Reply {
  return { status, body: JSON.stringify(body), contentType: "application/json;charset=UTF-8" };
}
