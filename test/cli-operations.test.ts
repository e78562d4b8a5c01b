/**
 * The CLI generated from the operation catalogue: its table (src/surfaces/cli/operations.ts)
 * names only input fields the catalogue's schemas have, with the same choices; main.ts
 * declares a command for every entry; docs/COMMANDS.md is what the table generates; and a
 * CLI call (real processes on the built bundle) never loads zod.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import type { z } from "zod";
import { describe, expect, it } from "vitest";
import { CATALOGUE } from "../src/api/catalogue.js";
import { commandReference } from "../src/surfaces/cli/command-reference.js";
import { buildProgram } from "../src/surfaces/cli/main.js";
import { CLI_OPERATIONS } from "../src/surfaces/cli/operations.js";
import { cli, ROOT, tempDir } from "./helpers.js";

const names = Object.keys(CLI_OPERATIONS) as (keyof typeof CLI_OPERATIONS)[];

/** A field's schema without its optional wrapper. */
function bare(schema: z.ZodType): z.ZodType {
  let inner = schema as unknown as { def: { type: string }; unwrap?: () => z.ZodType };
  while (inner.def.type === "optional" && inner.unwrap !== undefined) inner = inner.unwrap() as never;
  return inner as unknown as z.ZodType;
}

/** The choices a field accepts (its enum, its array's element enum, or a union's: one value or several), if it has some. */
function choicesOf(schema: z.ZodType): readonly string[] | undefined {
  const inner = bare(schema) as unknown as {
    def: { type: string; options?: readonly z.ZodType[] };
    options?: readonly string[];
    element?: z.ZodType;
  };
  if (inner.def.type === "enum") return inner.options;
  if (inner.def.type === "union") {
    const each = (inner.def.options ?? []).map(choicesOf);
    // Every member takes the same choices, or the union has none to compare with.
    const first = each[0];
    return first !== undefined && each.every((c) => c?.join() === first.join()) ? first : undefined;
  }
  if (inner.def.type === "array" && inner.element !== undefined) return choicesOf(inner.element);
  return undefined;
}

describe("the CLI's table of the catalogue's operations", () => {
  it("has an entry for every catalogue operation, and none other", () => {
    expect([...names].sort()).toEqual(CATALOGUE.map((o) => o.name).sort());
  });

  it("sets only input fields the operation's schema has (flags for a registry here excepted), with the schema's choices", () => {
    const wrong: string[] = [];
    for (const operation of CATALOGUE) {
      const spec = CLI_OPERATIONS[operation.name as keyof typeof CLI_OPERATIONS];
      const shape = operation.input.shape as Record<string, z.ZodType>;
      for (const a of spec.args ?? []) {
        if (a.field !== undefined && !(a.field in shape)) wrong.push(`${spec.words} ${a.name}: no field ${a.field}`);
      }
      for (const f of spec.flags ?? []) {
        if (f.field === undefined) continue;
        const field = shape[f.field];
        if (field === undefined) {
          if (f.localOnly !== true) wrong.push(`${spec.words} ${f.flag}: no field ${f.field}`);
          continue;
        }
        const choices = choicesOf(field);
        if (
          f.choices !== undefined &&
          choices !== undefined &&
          [...f.choices].sort().join() !== [...choices].sort().join()
        )
          wrong.push(`${spec.words} ${f.flag}: choices ${f.choices.join(",")} vs ${choices.join(",")}`);
        if ((f.type === "enum" || (f.type === "list" && f.choices !== undefined)) && choices === undefined)
          wrong.push(`${spec.words} ${f.flag}: the schema of ${f.field} has no choices`);
      }
    }
    expect(wrong).toEqual([]);
  });

  it("main.ts declares each entry's command, with its arguments and flags", () => {
    const program = buildProgram("baton");
    for (const name of names) {
      const spec = CLI_OPERATIONS[name];
      let command: Command | undefined = program;
      for (const word of spec.words.split(" ")) command = command?.commands.find((c) => c.name() === word);
      expect(command, spec.words).toBeDefined();
      const declared = (command as Command).options.map((o) => o.long);
      for (const f of spec.flags ?? [])
        expect(declared, `${spec.words} ${f.flag}`).toContain(
          f.negate === true ? f.flag.replace(/^--/, "--no-") : f.flag,
        );
      expect((command as Command).registeredArguments.map((a) => a.name())).toEqual(
        (spec.args ?? []).map((a) => a.name),
      );
    }
  });

  it("docs/COMMANDS.md is what the catalogue and the table generate (npm run docs)", () => {
    const committed = readFileSync(join(ROOT, "docs", "COMMANDS.md"), "utf8");
    expect(committed, "docs/COMMANDS.md is out of date: run npm run docs").toBe(commandReference());
    expect(readFileSync(join(ROOT, "README.md"), "utf8")).toContain("(docs/COMMANDS.md)");
  });
});

describe("a CLI call never loads zod", () => {
  it("claim, show, list, log, gate check, task add|update|done|reopen|list, next, context: no zod module is loaded (the built bundle)", () => {
    const dir = tempDir();
    const trace = join(dir, "trace.cjs");
    writeFileSync(
      trace,
      `const M = require("module"); const load = M._load;
M._load = function (request, ...rest) { if (/(^|\\/)zod(\\/|$)/.test(request)) process.stderr.write("ZOD LOADED " + request + "\\n"); return load.call(this, request, ...rest); };`,
    );
    const env = { BATON_DB: join(dir, "cli.db"), BATON_AGENT: "a", NODE_OPTIONS: `--require ${trace}` };
    for (const args of [
      ["claim", "k:1", "--ttl", "5m", "--meta", '{"a":1}'],
      ["show", "k:1"],
      ["list", "--state", "all"],
      ["log", "--kind", "granted"],
      ["gate", "check", "g:1"],
      ["task", "add", "9", "--title", "t", "--meta", '{"a":1}'],
      ["task", "update", "9", "--priority", "70"],
      ["task", "done", "9"],
      ["task", "reopen", "9"],
      ["task", "list"],
      ["next", "--dry-run"],
      ["context", "--budget", "2000"],
      ["complete", "k:1", "--outcome", "success"],
    ]) {
      const r = cli(args, { env, cwd: dir });
      expect(r.stderr, args.join(" ")).not.toContain("ZOD LOADED");
      expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBeLessThan(2);
    }
    // The tracer sees zod when it is loaded.
    const control = spawnSync(process.execPath, ["-e", 'require("zod")'], {
      env: { ...process.env, NODE_OPTIONS: `--require ${trace}` },
      cwd: ROOT,
      encoding: "utf8",
    });
    expect(control.stderr).toContain("ZOD LOADED");
    const bundle = readFileSync(join(ROOT, "dist", "cli", "baton-main.js"), "utf8");
    expect(bundle).not.toMatch(/\$ZodType|ZodError = /); // zod itself is never inlined into the bundle
  });
});

describe("the library loads zod when the catalogue is first read", () => {
  it("dist/index.js where zod cannot be found: openBaton claims and closes; reading CATALOGUE is what needs zod", () => {
    // The built library beside a node_modules holding better-sqlite3 alone: an import of zod at
    // the library's top would fail the import itself.
    const dir = tempDir();
    copyFileSync(join(ROOT, "dist", "index.js"), join(dir, "index.js"));
    writeFileSync(join(dir, "package.json"), '{"type":"module"}\n');
    mkdirSync(join(dir, "node_modules"));
    symlinkSync(join(ROOT, "node_modules", "better-sqlite3"), join(dir, "node_modules", "better-sqlite3"));
    const script = `const lib = await import(${JSON.stringify(join(dir, "index.js"))});
const baton = await lib.openBaton({ db: ${JSON.stringify(join(dir, "lib.db"))} });
const granted = await baton.claim("k:1", { as: "alice" });
await baton.close();
let catalogue;
try { catalogue = lib.CATALOGUE.length; } catch (error) { catalogue = error.code; }
console.log(JSON.stringify({ granted: granted.ok, catalogue }));`;
    const r = spawnSync(process.execPath, ["--input-type=module", "-e", script], { cwd: dir, encoding: "utf8" });
    expect(r.status, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({ granted: true, catalogue: "MODULE_NOT_FOUND" });
  });
});
