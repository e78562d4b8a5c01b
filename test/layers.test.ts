/**
 * The layers, checked on the source: core (pure) ← store (atomicity, clock) ← services
 * ← workspace (the local checkout) ← library and surfaces. Imports point down; nothing
 * below the workspace touches the local disk, git or child processes (the SQLite store
 * is a file, so store/sqlite/ may use node:fs); and no service, store or core module
 * words its messages in CLI flags (each surface words the structured hints).
 */
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import ts from "typescript";
import { describe, expect, it } from "vitest";
import { ERROR_CODES, ERROR_KINDS } from "../src/core/errors.js";
import { ROOT } from "./helpers.js";

const SRC = join(ROOT, "src");

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? filesUnder(join(dir, e.name)) : e.name.endsWith(".ts") ? [join(dir, e.name)] : [],
  );
}

/** `src/<layer>/…` → the layer (`surfaces`, `services`, …); top-level files are the library. */
function layerOf(file: string): string {
  const rel = relative(SRC, file).split("/");
  // src/index.ts is the package's entry: it re-exports every layer's public API.
  if (rel.length === 1 && rel[0] === "index.ts") return "entry";
  return rel.length === 1 ? "library" : (rel[0] as string);
}

interface Source {
  readonly file: string;
  readonly rel: string;
  readonly imports: string[];
  readonly strings: string[];
}

function parse(file: string): Source {
  const text = readFileSync(file, "utf8");
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const imports: string[] = [];
  const strings: string[] = [];
  const visit = (node: ts.Node): void => {
    if (
      (ts.isImportDeclaration(node) || ts.isExportDeclaration(node)) &&
      node.moduleSpecifier &&
      ts.isStringLiteral(node.moduleSpecifier)
    ) {
      imports.push(node.moduleSpecifier.text);
      return;
    }
    if (ts.isCallExpression(node) && node.expression.kind === ts.SyntaxKind.ImportKeyword) {
      const [arg] = node.arguments;
      if (arg !== undefined && ts.isStringLiteral(arg)) imports.push(arg.text);
    }
    if (ts.isStringLiteral(node) || ts.isNoSubstitutionTemplateLiteral(node)) strings.push(node.text);
    else if (ts.isTemplateExpression(node)) {
      strings.push(node.head.text, ...node.templateSpans.map((span) => span.literal.text));
    }
    ts.forEachChild(node, visit);
  };
  visit(sf);
  return { file, rel: relative(ROOT, file), imports, strings };
}

const sources = filesUnder(SRC).map(parse);
const inLayer = (...layers: string[]) => sources.filter((s) => layers.includes(layerOf(s.file)));

/** The layer an import lands in (null: a package or a Node built-in). */
function importedLayer(from: Source, spec: string): string | null {
  if (!spec.startsWith(".")) return null;
  return layerOf(join(from.file, "..", spec));
}

describe("layers", () => {
  it("finds the layers it checks", () => {
    for (const layer of ["core", "store", "services", "workspace", "surfaces"])
      expect(inLayer(layer).length, layer).toBeGreaterThan(0);
  });

  it("core, store and services never touch git, child processes or the workspace; only store/sqlite/ reads files", () => {
    const found: string[] = [];
    for (const s of inLayer("core", "store", "services")) {
      for (const spec of s.imports) {
        const fs = spec === "node:fs" || spec === "node:fs/promises" || spec === "fs";
        const child = spec === "node:child_process" || spec === "child_process";
        const workspace = importedLayer(s, spec) === "workspace";
        const sqliteFile = s.rel.startsWith("src/store/sqlite/") && fs;
        if ((fs && !sqliteFile) || child || workspace) found.push(`${s.rel} imports ${spec}`);
      }
    }
    expect(found).toEqual([]);
  });

  it("imports point down: core ← store ← services ← workspace ← library, api and surfaces", () => {
    const allowed: Record<string, readonly string[]> = {
      core: ["core"],
      store: ["core", "store"],
      services: ["core", "store", "services"],
      workspace: ["core", "store", "services", "workspace"],
      // The library facade composes the workspace and the services; the catalogue runs on it.
      library: ["core", "store", "services", "workspace", "library"],
      api: ["core", "store", "services", "workspace", "library", "api"],
      surfaces: ["core", "store", "services", "workspace", "library", "api", "surfaces"],
      entry: ["core", "store", "services", "workspace", "library", "api"],
    };
    const found: string[] = [];
    for (const s of sources) {
      const layer = layerOf(s.file);
      const ok = allowed[layer];
      if (ok === undefined) {
        found.push(`${s.rel}: in no known layer (${layer})`);
        continue;
      }
      for (const spec of s.imports) {
        const target = importedLayer(s, spec);
        if (target !== null && !ok.includes(target)) found.push(`${s.rel} (${layer}) imports ${spec} (${target})`);
      }
    }
    expect(found).toEqual([]);
  });

  it("core, store and services word nothing in CLI flags: no `--flag` in a string literal", () => {
    const found: string[] = [];
    for (const s of inLayer("core", "store", "services")) {
      for (const text of s.strings) {
        const flag = /(^|[^-\w])--[a-z]/.exec(text);
        if (flag !== null)
          found.push(`${s.rel}: ${JSON.stringify(text.slice(Math.max(0, flag.index - 30), flag.index + 40))}`);
      }
    }
    expect(found).toEqual([]);
  });

  it("importing the CLI's main module runs nothing (src/surfaces/cli/bin.ts is the executable)", async () => {
    const before = { exitCode: process.exitCode, listeners: process.stdout.listenerCount("error") };
    const main = await import("../src/surfaces/cli/main.js");
    expect(typeof main.runProcess).toBe("function");
    expect(process.exitCode).toBe(before.exitCode);
    expect(process.stdout.listenerCount("error")).toBe(before.listeners);
  });

  it("the public types are exported from the package entry", () => {
    const entry = readFileSync(join(SRC, "index.ts"), "utf8");
    for (const name of [
      "Task",
      "PathClaim",
      "NextResult",
      "GateRunResult",
      "ProbeResult",
      "SyncCheckResult",
      "ContextResult",
      "Hint",
      "ErrorKind",
    ]) {
      expect(entry, name).toMatch(new RegExp(`\\b${name}\\b`));
    }
  });

  it("every error code has a kind", () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) expect(ERROR_KINDS, code).toContain(spec.kind);
  });
});
