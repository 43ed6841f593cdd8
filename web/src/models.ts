import { getJson, type ModelEntry, type ModelVersion } from "./api.js";
import { type Column, fill, h, table } from "./dom.js";
import { metric, timeSec } from "./format.js";
import { badge, boot, controlButton, type PageContext } from "./shell.js";

/** `/models`: each market's models, their versions and metrics, which is current; promote. */

/** A metric column: its heading and where its value is in a version's metrics. */
interface MetricColumn {
  title: string;
  value: (v: ModelVersion) => unknown;
}

const SCORES: [string, string][] = [
  ["auc", "AUC"],
  ["ap", "AP"],
  ["f1", "F1"],
  ["precision", "Precision"],
  ["recall", "Recall"],
];

/**
 * The metric columns: the scores out of sample (walk-forward) when any version has them, then
 * in sample (on the training rows: optimistic); a flat metrics object's numbers as they are.
 */
function metricColumns(versions: readonly ModelVersion[], max: number): MetricColumn[] {
  const out: MetricColumn[] = [];
  for (const [kind, label] of [
    ["out_of_sample", "out of sample"],
    ["in_sample", "in sample"],
  ] as const) {
    const scores = versions.map((v) => v.metrics[kind]).filter((s) => s !== null && typeof s === "object");
    if (scores.length === 0) continue;
    for (const [name, shown] of SCORES) {
      if (!scores.some((s) => typeof (s as Record<string, unknown>)[name] === "number")) continue;
      out.push({
        title: `${shown} ${label}`,
        value: (v) => (v.metrics[kind] as Record<string, unknown> | null)?.[name],
      });
    }
  }
  for (const v of versions) {
    for (const [k, value] of Object.entries(v.metrics)) {
      if (typeof value === "number" && !out.some((c) => c.title === k)) {
        out.push({ title: k, value: (x) => x.metrics[k] });
      }
    }
  }
  return out.slice(0, max);
}

function modelCard(m: ModelEntry, ctx: PageContext, reload: () => Promise<void>): HTMLElement {
  const metrics = metricColumns(m.versions, 8);
  const columns: Column<ModelVersion>[] = [
    {
      title: "Version",
      cell: (v) =>
        h("span", {}, String(v.version), v.version === m.current ? badge("current", "good tag") : null),
    },
    { title: "Created (UTC)", cell: (v) => timeSec(v.created_at), numeric: true },
    { title: "Algorithm", cell: (v) => v.algorithm },
    { title: "Features", cell: (v) => String(v.features), numeric: true },
    ...metrics.map(
      (c): Column<ModelVersion> => ({ title: c.title, cell: (v) => metric(c.value(v)), numeric: true }),
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
