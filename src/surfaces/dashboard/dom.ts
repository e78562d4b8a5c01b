/** A few DOM helpers: elements are built with textContent only (no HTML strings, so no injection). */

type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** `h("td", { class: "num", "data-label": "Token" }, "42")`. Attributes `on*` take listeners. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === "function") el.addEventListener(name.slice(2), value);
    // Through the CSSOM: the page's Content-Security-Policy refuses style attributes.
    else if (name === "style") el.style.cssText = String(value);
    else if (value === true) el.setAttribute(name, "");
    else el.setAttribute(name, String(value));
  }
  append(el, children);
  return el;
}

function append(el: HTMLElement, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    el.append(typeof child === "number" ? String(child) : child);
  }
}

/** Replace the children of the element with id `id`. */
export function fill(id: string, ...children: Child[]): void {
  const el = document.getElementById(id);
  if (el === null) return;
  el.replaceChildren();
  append(el, children);
}

/** A table whose rows turn into labelled cards on narrow screens. */
export function table(
  headers: readonly string[],
  rows: readonly Child[][],
  numeric: readonly string[] = [],
  tight: readonly string[] = [],
): HTMLTableElement {
  const cls = (label: string): string | null =>
    [numeric.includes(label) ? "num" : "", tight.includes(label) ? "tight" : ""].filter(Boolean).join(" ") || null;
  return h(
    "table",
    { class: "cards" },
    h("thead", {}, h("tr", {}, ...headers.map((label) => h("th", { scope: "col", class: cls(label) }, label)))),
    h(
      "tbody",
      {},
      ...rows.map((cells) =>
        h(
          "tr",
          {},
          ...cells.map((cell, i) => h("td", { "data-label": headers[i] ?? "", class: cls(headers[i] ?? "") }, cell)),
        ),
      ),
    ),
  );
}

/** `3m ago`, `in 2h 05m`: a duration in words for people. */
export function span(ms: number): string {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const hours = Math.floor(m / 60);
  if (hours < 48) return `${hours}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(hours / 24)}d ${hours % 24}h`;
}

export function ago(ms: number): string {
  return ms < 0 ? `in ${span(ms)}` : `${span(ms)} ago`;
}

/** Local time of day (with the date when not today). */
export function clock(iso: string): string {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today
    ? d.toLocaleTimeString([], { hour12: false })
    : `${d.toLocaleDateString()} ${d.toLocaleTimeString([], { hour12: false })}`;
}
