/** Small DOM helpers: elements are built with text nodes only, so no data is ever parsed as HTML. */

type Child = Node | string | null | undefined | false;
type Attrs = Record<string, string | number | boolean | undefined | null>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (name === "class") el.className = String(value);
    else el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: readonly Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === "string" ? document.createTextNode(c) : c);
  }
}

/** Replaces an element's content. */
export function fill(el: Element, ...children: Child[]): void {
  el.replaceChildren();
  append(el, children);
}

export function byId<T extends HTMLElement = HTMLElement>(id: string): T {
  const el = document.getElementById(id);
  if (el === null) throw new Error(`the page has no #${id}`);
  return el as T;
}

/** A table column: its heading, how a row shows in it, and whether it holds numbers (right-aligned). */
export interface Column<R> {
  title: string;
  cell: (row: R) => Child;
  numeric?: boolean;
  /** A class for the cell from the row (e.g. "pos" or "neg"). */
  tone?: (row: R) => string | undefined;
}

export function table<R>(
  columns: readonly Column<R>[],
  rows: readonly R[],
  empty = "Nothing yet.",
): HTMLElement {
  if (rows.length === 0) return h("p", { class: "empty" }, empty);
  const head = h("tr", {}, ...columns.map((c) => h("th", { class: c.numeric ? "num" : undefined }, c.title)));
  const body = rows.map((r) =>
    h(
      "tr",
      {},
      ...columns.map((c) => {
        const tone = c.tone?.(r);
        const cls = [c.numeric ? "num" : "", tone ?? ""].filter((s) => s !== "").join(" ");
        return h("td", { class: cls === "" ? undefined : cls }, c.cell(r));
      }),
    ),
  );
  return h("div", { class: "table-wrap" }, h("table", {}, h("thead", {}, head), h("tbody", {}, ...body)));
}

/** Calls `fn` once, `ms` after the last of a burst of calls. */
export function debounce(fn: () => void, ms: number): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return () => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(() => {
      timer = undefined;
      fn();
    }, ms);
  };
}
