import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
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
});
