import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";

/**
 * The dashboard's pages on the API's server (docs/dashboard.md): the HTML shells of `/`,
 * `/market/{id}`, `/models` and `/results`, and their assets under `/assets/` (the compiled
 * page scripts from dist/web, the stylesheet and icon from web/static, lightweight-charts from
 * node_modules). Nothing comes from another host, and nothing here holds data: the pages ask the
 * API for it with the token the login keeps. Every answer carries a strict Content-Security-
 * Policy (scripts, styles and connections from this origin only; no inline script or style).
 *
 * Asset URLs in the shells carry a version (`?v=` a digest of the content, and of the modules it
 * imports), so a versioned asset is cached for good and a new build is fetched at once; an
 * unversioned request is revalidated with its ETag.
 */

/** The package's root: src/server and dist/server are both two levels below it. */
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

export const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self'",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join("; ");

const SECURITY_HEADERS: Record<string, string> = {
  "content-security-policy": CONTENT_SECURITY_POLICY,
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
  "x-frame-options": "DENY",
  "cross-origin-opener-policy": "same-origin",
};

interface Asset {
  body: Buffer;
  type: string;
  /** A digest of the content (and of the modules it imports): the ETag and the `?v=`. */
  version: string;
}

const TYPES: Record<string, string> = {
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
  ".svg": "image/svg+xml",
  ".html": "text/html; charset=utf-8",
};

const digest = (b: Buffer | string): string => createHash("sha256").update(b).digest("hex").slice(0, 16);

function typeOf(name: string): string {
  const ext = name.slice(name.lastIndexOf("."));
  return TYPES[ext] ?? "application/octet-stream";
}

function readOrExplain(file: string, what: string): Buffer {
  if (!existsSync(file)) {
    throw new Error(`the dashboard's ${what} is missing (${file}): run \`npm run build\` in the package`);
  }
  return readFileSync(file);
}

/** lightweight-charts' standalone ES module build (no imports of its own). */
function chartLibrary(): Buffer {
  const require = createRequire(import.meta.url);
  // the package's exports map hides dist/, so locate it through package.json
  const dir = dirname(require.resolve("lightweight-charts/package.json"));
  return readOrExplain(
    join(dir, "dist", "lightweight-charts.standalone.production.mjs"),
    "chart library (lightweight-charts)",
  );
}

const IMPORT = /(\bfrom\s*|\bimport\s*)"\.\/([A-Za-z0-9]+\.js)"/g;

/**
 * The assets by their path under /assets/. The page modules' relative imports are rewritten to
 * carry each imported module's version, so that one version names the whole graph below it.
 */
function loadAssets(): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  const staticDir = join(ROOT, "web", "static");
  for (const name of ["style.css", "favicon.svg"]) {
    const body = readOrExplain(join(staticDir, name), name);
    assets.set(name, { body, type: typeOf(name), version: digest(body) });
  }
  const jsDir = join(ROOT, "dist", "web");
  if (!existsSync(jsDir)) readOrExplain(jsDir, "compiled page scripts");
  const sources = new Map<string, string>();
  for (const name of readdirSync(jsDir)) {
    if (/^[A-Za-z0-9]+\.js$/.test(name)) sources.set(name, readFileSync(join(jsDir, name), "utf8"));
  }
  const lib = chartLibrary();
  assets.set("js/lightweightCharts.js", { body: lib, type: TYPES[".js"] as string, version: digest(lib) });
  const visiting = new Set<string>();
  const moduleAsset = (name: string): Asset => {
    const done = assets.get(`js/${name}`);
    if (done !== undefined) return done;
    const src = sources.get(name);
    if (src === undefined) throw new Error(`the dashboard's script ${name} is missing from ${jsDir}`);
    if (visiting.has(name)) throw new Error(`the dashboard's scripts import each other in a cycle (${name})`);
    visiting.add(name);
    const text = src.replace(IMPORT, (_m, head: string, dep: string) => {
      return `${head}"./${dep}?v=${moduleAsset(dep).version}"`;
    });
    visiting.delete(name);
    const body = Buffer.from(text, "utf8");
    const asset = { body, type: TYPES[".js"] as string, version: digest(body) };
    assets.set(`js/${name}`, asset);
    return asset;
  };
  for (const name of sources.keys()) moduleAsset(name);
  return assets;
}

const escapeHtml = (s: string): string =>
  s.replace(
    /[&<>"']/g,
    (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c] as string,
  );

interface Shell {
  title: string;
  page: string;
  /** The page's module under dist/web, or none (the 404 page). */
  script?: string;
  /** Static content of <main> (escaped HTML of our own). */
  body?: string;
}

/** Registers the pages and their assets on the API's server. */
export async function registerPages(app: FastifyInstance): Promise<void> {
  const assets = loadAssets();
  const template = readOrExplain(join(ROOT, "web", "static", "page.html"), "page template").toString("utf8");
  const url = (name: string): string => {
    const a = assets.get(name);
    if (a === undefined) throw new Error(`no dashboard asset ${name}`);
    return `/assets/${name}?v=${a.version}`;
  };
  const render = (s: Shell): Buffer =>
    Buffer.from(
      template
        .replaceAll("/assets/style.css", url("style.css"))
        .replace("<title>itb</title>", `<title>${escapeHtml(s.title)} · itb</title>`)
        .replace('data-page=""', `data-page="${escapeHtml(s.page)}"`)
        .replace(
          "<!-- the page's script -->",
          s.script === undefined ? "" : `<script type="module" src="${url(`js/${s.script}`)}"></script>`,
        )
        .replace(
          '<main id="app" hidden></main>',
          `<main id="app"${s.body === undefined ? " hidden" : ""}>${s.body ?? ""}</main>`,
        ),
      "utf8",
    );
  const htmlAsset = (body: Buffer): Asset => ({
    body,
    type: TYPES[".html"] as string,
    version: digest(body),
  });
  const shell = (title: string, page: string): Asset =>
    htmlAsset(render({ title, page, script: `${page}.js` }));
  const shells = {
    overview: shell("Overview", "overview"),
    market: shell("Market", "market"),
    models: shell("Models", "models"),
    results: shell("Results", "results"),
  };

  const send = (req: FastifyRequest, reply: FastifyReply, a: Asset, cache: string, status = 200) => {
    const etag = `"${a.version}"`;
    reply.headers(SECURITY_HEADERS).header("cache-control", cache).header("etag", etag);
    if (status === 200 && req.headers["if-none-match"] === etag) return reply.code(304).send();
    return reply.code(status).type(a.type).send(a.body);
  };
  // the shells hold no data and change only with the package: revalidated on each visit
  const page = (a: Asset) => (req: FastifyRequest, reply: FastifyReply) => send(req, reply, a, "no-cache");

  app.get("/", page(shells.overview));
  app.get("/market/:id", page(shells.market));
  app.get("/models", page(shells.models));
  app.get("/results", page(shells.results));
  app.get("/assets/*", (req: FastifyRequest, reply: FastifyReply) => {
    const name = (req.params as { "*": string })["*"];
    const a = assets.get(name);
    if (a === undefined) return notFound(req, reply);
    const v = (req.query as { v?: unknown }).v;
    return send(req, reply, a, v === a.version ? "public, max-age=31536000, immutable" : "no-cache");
  });

  const notFound = (req: FastifyRequest, reply: FastifyReply) => {
    const path = req.url.split("?")[0] ?? "/";
    // the API's own answer for its paths (JSON)
    if (path.startsWith("/api/")) return reply.callNotFound();
    let shown = path;
    try {
      shown = decodeURIComponent(path);
    } catch {
      // keep it as it came
    }
    const body = render({
      title: "Not found",
      page: "not-found",
      body: `<section class="card not-found"><h1>Not found</h1><p class="muted">There is no page at <code>${escapeHtml(shown)}</code>.</p><p><a href="/">Back to the overview</a></p></section>`,
    });
    return send(req, reply, htmlAsset(body), "no-cache", 404);
  };
  // every other GET: the 404 page (the API's and the service's own routes are matched first)
  app.get("/*", notFound);
}
