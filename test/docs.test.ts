import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { API_METHODS } from "../src/api/baton-api.js";
import { CATALOGUE } from "../src/api/catalogue.js";
import { ERROR_CODES } from "../src/core/errors.js";
import { ROOT } from "./helpers.js";

describe("documentation stays true", () => {
  const errorsDoc = readFileSync(join(ROOT, "docs", "ERRORS.md"), "utf8");
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");

  it("docs/ERRORS.md lists every error code with its exit code, HTTP status and kind", () => {
    for (const [code, spec] of Object.entries(ERROR_CODES)) {
      const row = errorsDoc.split("\n").find((line) => new RegExp(`^\\|\\s*\`${code}\`\\s*\\|`).test(line));
      expect(row, `docs/ERRORS.md has no row for ${code}`).toBeDefined();
      const cells = (row as string).split("|").map((cell) => cell.trim());
      expect(cells[2], `exit code of ${code}`).toBe(String(spec.exit));
      expect(cells[3], `HTTP status of ${code}`).toBe(String(spec.http));
      expect(cells[4], `kind of ${code}`).toBe(spec.kind);
    }
  });

  it("docs/ERRORS.md documents no code that does not exist", () => {
    const documented = [...errorsDoc.matchAll(/^\|\s*`([A-Z_]+)`\s*\|/gm)].map((m) => m[1]);
    expect(documented.sort()).toEqual(Object.keys(ERROR_CODES).sort());
  });

  it("the README's exit-code table names every code", () => {
    for (const code of Object.keys(ERROR_CODES)) expect(readme).toContain(`\`${code}\``);
  });

  /** The README's text under `heading`, up to the next heading of that level or above. */
  const section = (heading: string): string => {
    const start = readme.indexOf(`\n${heading}\n`);
    expect(start, heading).toBeGreaterThan(-1);
    const level = heading.split(" ")[0] as string;
    const rest = readme.slice(start + heading.length + 2);
    const end = rest.search(new RegExp(`\n#{1,${level.length}} `));
    return end === -1 ? rest : rest.slice(0, end);
  };

  it("the README lists every catalogue operation: as an MCP tool (unless it is not one), as a server route (unless it needs a checkout), as a BatonApi method", () => {
    const tools = section("## MCP: Baton's operations as tools");
    const server = section("## The server: `baton serve`");
    for (const operation of CATALOGUE) {
      if (operation.tool === false)
        expect(tools, `README lists ${operation.name} as an MCP tool, which it is not`).not.toContain(
          `\`${operation.name}\``,
        );
      else expect(tools, `README's MCP tool list lacks ${operation.name}`).toContain(`\`${operation.name}\``);
      const route = `/v1/${operation.name.replaceAll("_", "/")}`;
      if (operation.local) expect(server, `README lists ${route}, which needs a checkout`).not.toContain(`${route}\``);
      else expect(server, `README's route list lacks ${route}`).toContain(`${route}\``);
    }
    expect(Object.keys(API_METHODS).sort()).toEqual(CATALOGUE.map((o) => o.name).sort());
  });
});
