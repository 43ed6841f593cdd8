import { ApiError, getJson, type ResultEntry, request } from "./api.js";
import { type Column, fill, h, table } from "./dom.js";
import { metric, timeSec } from "./format.js";
import { boot, notice, type PageContext } from "./shell.js";

/**
 * `/results`: the pipeline's simulations and backtest reports. A JSON result opens below the
 * table; a report (a self-contained HTML page) is saved as a file to open in the browser.
 */

/** A result's summary as short "name: value" pairs (nested objects one level down), at most `max`. */
function summaryPairs(summary: Record<string, unknown>, max: number): [string, string][] {
  const out: [string, string][] = [];
  const add = (k: string, v: unknown, depth: number) => {
    if (out.length >= max) return;
    if (v !== null && typeof v === "object" && !Array.isArray(v)) {
      if (depth === 0) for (const [k2, v2] of Object.entries(v)) add(k2, v2, 1);
      return;
    }
    if (Array.isArray(v) || v === null || v === undefined) return;
    out.push([k, metric(v)]);
  };
  for (const [k, v] of Object.entries(summary)) {
    if (k !== "html") add(k, v, 0);
  }
  return out;
}

const resultPath = (r: ResultEntry, name = r.name): string =>
  `/api/v1/results/${[r.market ?? "-", r.kind, name].map(encodeURIComponent).join("/")}`;

async function open(r: ResultEntry, viewer: HTMLElement, signal: AbortSignal, name = r.name): Promise<void> {
  const res = await request(resultPath(r, name), { signal });
  const type = res.headers.get("content-type") ?? "";
  if (type.startsWith("text/html")) {
    // a report runs its own scripts: saved as a file, it opens as the page it is
    const blob = new Blob([await res.text()], { type: "text/html" });
    const a = h("a", { href: URL.createObjectURL(blob), download: `${r.market ?? "all"}-${r.kind}.html` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    notice(`Saved ${r.market ?? "all"}-${r.kind}.html: open it in the browser.`);
    return;
  }
  const text = type.includes("json") ? JSON.stringify(await res.json(), null, 2) : await res.text();
  fill(
    viewer,
    h("h2", {}, `${r.market ?? "all markets"} · ${r.kind} · ${r.name}`),
    h("pre", { class: "json", id: "result-content" }, text),
  );
  viewer.hidden = false;
  viewer.scrollIntoView({ behavior: "smooth", block: "start" });
}

async function results(ctx: PageContext): Promise<void> {
  const { app, signal } = ctx;
  const list = h("section", { class: "card", id: "results" });
  const viewer = h("section", { class: "card", id: "result-viewer", hidden: true });
  fill(app, h("div", { class: "page-head" }, h("h1", {}, "Results")), list, viewer);
  const { results: entries } = await getJson<{ results: ResultEntry[] }>("/api/v1/results", { signal });
  const sorted = [...entries].sort((a, b) => b.created_at.localeCompare(a.created_at));
  const button = (r: ResultEntry, label: string, name?: string): HTMLButtonElement => {
    const b = h("button", { type: "button", "data-open": name ?? r.name }, label);
    b.addEventListener("click", () => {
      void open(r, viewer, signal, name).catch((err: unknown) => {
        if (!(err instanceof ApiError && err.status === 401)) {
          notice(`Could not open ${r.name}: ${err instanceof Error ? err.message : String(err)}`, "error");
        }
      });
    });
    return b;
  };
  const columns: Column<ResultEntry>[] = [
    { title: "Created (UTC)", cell: (r) => timeSec(r.created_at), numeric: true },
    { title: "Market", cell: (r) => r.market ?? "all" },
    { title: "Kind", cell: (r) => r.kind },
    {
      title: "Summary",
      cell: (r) =>
        h(
          "span",
          { class: "pairs" },
          ...summaryPairs(r.summary, 6).map(([k, v]) =>
            h("span", {}, h("span", { class: "muted" }, `${k} `), v),
          ),
        ),
    },
    {
      title: "",
      cell: (r) =>
        h(
          "span",
          { class: "actions" },
          button(r, "Open"),
          r.kind === "report" && r.summary.html === true ? button(r, "Save page", "html") : null,
        ),
    },
  ];
  fill(list, table(columns, sorted, "No results yet: the pipeline's simulate and report stages make them."));
}

boot(results);
