import { ApiError, getJson, type ResultEntry, request } from "./api.js";
import { type Column, fill, h, table } from "./dom.js";
import { metric, timeSec } from "./format.js";
import { boot, notice, type PageContext } from "./shell.js";

/**
 * `/results`: the pipeline's simulations and backtest reports. A JSON result opens below the
 * table; a report (a self-contained HTML page) is saved as a file to open in the browser.
 */

function summaryNames(results: readonly ResultEntry[], max: number): string[] {
  const names: string[] = [];
  for (const r of results) {
    for (const [k, v] of Object.entries(r.summary)) {
      if ((typeof v === "number" || typeof v === "string") && !names.includes(k)) names.push(k);
    }
  }
  return names.slice(0, max);
}

const resultPath = (r: ResultEntry): string =>
  `/api/v1/results/${[r.market ?? "-", r.kind, r.name].map(encodeURIComponent).join("/")}`;

async function open(r: ResultEntry, viewer: HTMLElement, signal: AbortSignal): Promise<void> {
  const res = await request(resultPath(r), { signal });
  const type = res.headers.get("content-type") ?? "";
  if (type.startsWith("text/html")) {
    // a report runs its own scripts: saved as a file, it opens as the page it is
    const blob = new Blob([await res.text()], { type: "text/html" });
    const a = h("a", { href: URL.createObjectURL(blob), download: `${r.name}.html` });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
    notice(`Saved ${r.name}.html: open it in the browser.`);
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
  const names = summaryNames(sorted, 6);
  const columns: Column<ResultEntry>[] = [
    { title: "Created (UTC)", cell: (r) => timeSec(r.created_at), numeric: true },
    { title: "Market", cell: (r) => r.market ?? "all" },
    { title: "Kind", cell: (r) => r.kind },
    { title: "Name", cell: (r) => r.name },
    ...names.map(
      (k): Column<ResultEntry> => ({ title: k, cell: (r) => metric(r.summary[k]), numeric: true }),
    ),
    {
      title: "",
      cell: (r) => {
        const b = h("button", { type: "button" }, r.kind === "report" ? "Save report" : "Open");
        b.addEventListener("click", () => {
          void open(r, viewer, signal).catch((err: unknown) => {
            if (!(err instanceof ApiError && err.status === 401)) {
              notice(
                `Could not open ${r.name}: ${err instanceof Error ? err.message : String(err)}`,
                "error",
              );
            }
          });
        });
        return b;
      },
    },
  ];
  fill(list, table(columns, sorted, "No results yet: the pipeline's simulate and report stages make them."));
}

boot(results);
