import { getJson, type ModelEntry, type ModelVersion } from "./api.js";
import { type Column, fill, h, table } from "./dom.js";
import { metric, timeSec } from "./format.js";
import { badge, boot, controlButton, type PageContext } from "./shell.js";

/** `/models`: each market's models, their versions and metrics, which is current; promote. */

/** The metric names shown as columns: those of the newest version first, at most `max`. */
function metricNames(versions: readonly ModelVersion[], max: number): string[] {
  const names: string[] = [];
  for (const v of [...versions].reverse()) {
    for (const [k, value] of Object.entries(v.metrics)) {
      if (typeof value === "number" && !names.includes(k)) names.push(k);
    }
  }
  return names.slice(0, max);
}

function modelCard(m: ModelEntry, ctx: PageContext, reload: () => Promise<void>): HTMLElement {
  const names = metricNames(m.versions, 6);
  const columns: Column<ModelVersion>[] = [
    {
      title: "Version",
      cell: (v) =>
        h("span", {}, String(v.version), v.version === m.current ? badge("current", "good tag") : null),
    },
    { title: "Created (UTC)", cell: (v) => timeSec(v.created_at), numeric: true },
    { title: "Algorithm", cell: (v) => v.algorithm },
    { title: "Features", cell: (v) => String(v.features), numeric: true },
    ...names.map(
      (k): Column<ModelVersion> => ({ title: k, cell: (v) => metric(v.metrics[k]), numeric: true }),
    ),
  ];
  if (ctx.canControl) {
    columns.push({
      title: "",
      cell: (v) =>
        v.version === m.current
          ? null
          : controlButton({
              label: "Promote",
              action: "promote",
              path: `/api/v1/models/${encodeURIComponent(m.market)}/${encodeURIComponent(m.name)}/promote`,
              body: { version: v.version },
              confirm: `Make version ${v.version} of ${m.name} (${m.market}) the current model? The service picks it up at the next candle.`,
              after: () => void reload().catch(() => {}),
            }),
    });
  }
  const versions = [...m.versions].sort((a, b) => b.version - a.version);
  return h(
    "section",
    { class: "card model", "data-model": `${m.market}/${m.name}` },
    h(
      "h2",
      {},
      h("a", { href: `/market/${encodeURIComponent(m.market)}` }, m.market),
      h("span", { class: "sep" }, " · "),
      m.name,
      h(
        "span",
        { class: "muted small" },
        m.current === null ? " no current version" : ` current: v${m.current}`,
      ),
    ),
    table(columns, versions, "No versions."),
  );
}

async function models(ctx: PageContext): Promise<void> {
  const { app, signal } = ctx;
  const list = h("div", { id: "models" });
  fill(app, h("div", { class: "page-head" }, h("h1", {}, "Models")), list);
  const load = async (): Promise<void> => {
    const { models: entries } = await getJson<{ models: ModelEntry[] }>("/api/v1/models", { signal });
    fill(
      list,
      ...(entries.length === 0
        ? [h("p", { class: "empty card" }, "No models yet: itb train (or the pipeline) makes them.")]
        : entries.map((m) => modelCard(m, ctx, load))),
    );
  };
  await load();
}

boot(models);
