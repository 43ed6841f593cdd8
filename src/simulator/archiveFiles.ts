import { readFile } from "node:fs/promises";
import { join, normalize, sep } from "node:path";
import type { Reply, Route } from "./router.js";

/**
 * Binance's public data archive (`data.binance.vision`) paths served as static files from the
 * archive folder, so `itb import --source http://127.0.0.1:PORT` reads over HTTP exactly what
 * it would read from the folder. Anything else under /data/ is a 404, as on the real archive.
 */

const ARCHIVE_PATH =
  /^\/data\/(spot|futures\/um)\/(monthly|daily)\/klines\/[A-Z0-9]{2,20}\/\w{2,3}\/[\w.-]+\.zip(\.CHECKSUM)?$/;

function notFound(): Reply {
  return { status: 404, body: "Not Found", contentType: "text/plain" };
}

export function archiveRoutes(root: string | undefined): Route[] {
  return [
    {
      method: "GET",
      path: "/data/",
      prefix: true,
      security: "NONE",
      handle: async (ctx) => {
        if (root === undefined || !ARCHIVE_PATH.test(ctx.path)) return notFound();
        const rel = normalize(ctx.path.slice(1));
        if (rel.split(sep).includes("..")) return notFound();
        try {
          const body = await readFile(join(root, rel));
          return {
            status: 200,
            body,
            contentType: ctx.path.endsWith(".zip") ? "application/zip" : "text/plain",
          };
        } catch {
          return notFound();
        }
      },
    },
  ];
}
