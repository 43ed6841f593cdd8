import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import Fastify, { type FastifyInstance } from "fastify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CONTENT_SECURITY_POLICY, registerPages } from "../../src/server/pages.js";

/**
 * The pages' routes on a Fastify server (as the API's server registers them): the shells, the
 * assets with their types, versions and cache headers, the security headers, the 404 page. The
 * compiled page scripts come from dist/web (`npm run build`).
 */

let app: FastifyInstance;

beforeAll(async () => {
  app = Fastify();
  app.setNotFoundHandler(async (req, reply) => reply.code(404).send({ error: `no endpoint ${req.url}` }));
  app.get("/healthz", async () => ({ status: "ok" }));
  await registerPages(app);
  await app.ready();
});

afterAll(async () => {
  await app?.close();
});

const get = (url: string, headers: Record<string, string> = {}) =>
  app.inject({ method: "GET", url, headers });

/** The asset URLs a page's HTML names. */
function assetUrls(html: string): string[] {
  return [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1] as string);
}

describe("the dashboard's pages", () => {
  it("serves each page's shell with a strict CSP, no inline script or style, and no data", async () => {
    for (const [url, page, script] of [
      ["/", "overview", "overview"],
      ["/market/BTCUSDT-1m", "market", "market"],
      ["/market/ETH%2FUSDT-1h", "market", "market"],
      ["/models", "models", "models"],
      ["/results", "results", "results"],
    ] as const) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(200);
      expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(r.headers["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      expect(r.headers["referrer-policy"]).toBe("no-referrer");
      expect(r.headers["cache-control"]).toBe("no-cache");
      expect(r.body).toContain(`<body data-page="${page}"`);
      // one module script, from this origin, versioned; no inline script, handler or style
      const scripts = [...r.body.matchAll(/<script\b[^>]*>[^<]*<\/script>/g)].map((m) => m[0]);
      expect(scripts).toHaveLength(1);
      expect(scripts[0]).toMatch(
        new RegExp(`^<script type="module" src="/assets/js/${script}\\.js\\?v=[0-9a-f]{16}"></script>$`),
      );
      expect(r.body).not.toMatch(/<script>|<style|\sstyle=|\son[a-z]+=/i);
      expect(r.body).not.toMatch(/https?:\/\//);
      // the market's id is read by the script from the address, never written into the page
      expect(r.body).not.toContain("BTCUSDT");
    }
    expect(CONTENT_SECURITY_POLICY).toContain("default-src 'self'");
    expect(CONTENT_SECURITY_POLICY).toContain("script-src 'self'");
    expect(CONTENT_SECURITY_POLICY).not.toContain("unsafe-inline");
  });

  it("serves every asset a page names, with its type, and caches a versioned one for good", async () => {
    const html = (await get("/market/X-1m")).body;
    const urls = assetUrls(html);
    expect(urls.map((u) => u.split("?")[0])).toEqual([
      "/assets/favicon.svg",
      "/assets/style.css",
      "/assets/js/market.js",
    ]);
    const types: Record<string, string> = {
      svg: "image/svg+xml",
      css: "text/css; charset=utf-8",
      js: "text/javascript; charset=utf-8",
    };
    for (const u of urls) {
      const r = await get(u);
      expect(r.statusCode, u).toBe(200);
      expect(r.headers["content-type"]).toBe(types[(u.split("?")[0] as string).split(".").pop() as string]);
      expect(r.headers["x-content-type-options"]).toBe("nosniff");
      const versioned = u.includes("?v=");
      expect(r.headers["cache-control"]).toBe(versioned ? "public, max-age=31536000, immutable" : "no-cache");
    }
    // unversioned or with an old version: revalidated with the ETag
    const plain = await get("/assets/style.css");
    expect(plain.headers["cache-control"]).toBe("no-cache");
    expect((await get("/assets/style.css?v=0000000000000000")).headers["cache-control"]).toBe("no-cache");
    const etag = plain.headers.etag as string;
    expect(etag).toMatch(/^"[0-9a-f]{16}"$/);
    const again = await get("/assets/style.css", { "if-none-match": etag });
    expect(again.statusCode).toBe(304);
    expect(again.body).toBe("");
    expect((await get("/assets/style.css", { "if-none-match": '"0"' })).statusCode).toBe(200);
  });

  it("versions a module's imports, so that one version names everything it loads", async () => {
    const html = (await get("/market/X-1m")).body;
    const marketUrl = assetUrls(html).find((u) => u.startsWith("/assets/js/market.js")) as string;
    const market = (await get(marketUrl)).body;
    const imports = [...market.matchAll(/from\s*"(\.\/[^"]+)"/g)].map((m) => m[1] as string);
    expect(imports.map((i) => i.split("?")[0]).sort()).toEqual(
      ["./api.js", "./dom.js", "./format.js", "./lightweightCharts.js", "./shell.js"].sort(),
    );
    for (const i of imports) {
      expect(i).toMatch(/\?v=[0-9a-f]{16}$/);
      const r = await get(`/assets/js/${i.slice(2)}`);
      expect(r.statusCode, i).toBe(200);
      expect(r.headers.etag).toBe(`"${i.split("?v=")[1]}"`);
      expect(r.headers["cache-control"]).toBe("public, max-age=31536000, immutable");
    }
  });

  it("serves lightweight-charts from the package, byte for byte", async () => {
    const require = createRequire(import.meta.url);
    const dir = dirname(require.resolve("lightweight-charts/package.json"));
    const lib = readFileSync(join(dir, "dist", "lightweight-charts.standalone.production.mjs"), "utf8");
    const r = await get("/assets/js/lightweightCharts.js");
    expect(r.statusCode).toBe(200);
    expect(r.body).toBe(lib);
    expect(r.headers["content-type"]).toBe("text/javascript; charset=utf-8");
  });

  it("answers an unknown page with the 404 page, an unknown API path with the API's JSON", async () => {
    for (const url of [
      "/nope",
      "/market",
      "/market/a/b",
      "/assets/nope.js",
      "/assets/js/../../package.json",
    ]) {
      const r = await get(url);
      expect(r.statusCode, url).toBe(404);
      expect(r.headers["content-type"]).toBe("text/html; charset=utf-8");
      expect(r.headers["content-security-policy"]).toBe(CONTENT_SECURITY_POLICY);
      expect(r.body).toContain("Not found");
      expect(r.body).not.toMatch(/<script/);
    }
    const evil = await get("/%3Cimg%20src=x%20onerror=alert(1)%3E");
    expect(evil.statusCode).toBe(404);
    expect(evil.body).toContain("&lt;img src=x onerror=alert(1)&gt;");
    expect(evil.body).not.toContain("<img");
    const api = await get("/api/v1/nope");
    expect(api.statusCode).toBe(404);
    expect(api.json()).toEqual({ error: "no endpoint /api/v1/nope" });
    // the server's own routes are matched first
    expect((await get("/healthz")).json()).toEqual({ status: "ok" });
  });
});
