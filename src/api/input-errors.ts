/**
 * The one wording of a catalogue schema's refusal, shared by every surface that parses an
 * operation's input (the in-process API, `baton serve`'s routes, the MCP tools), so the same
 * bad input gets the same message and code everywhere: `NAME: field: reason; field: reason`,
 * `BAD_INPUT`, the reasons also as `details.issues`.
 */
import type { z } from "zod";
import { BatonError } from "../core/errors.js";

/** The reasons of a zod refusal, one per issue: `field.path: message` (`input: …` for the whole input). */
export function inputIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => `${issue.path.length > 0 ? issue.path.join(".") : "input"}: ${issue.message}`);
}

/** The `BAD_INPUT` error for operation `name`'s input refused by its schema (nothing was run). */
export function inputError(name: string, error: z.ZodError): BatonError {
  const issues = inputIssues(error);
  return new BatonError("BAD_INPUT", `${name}: ${issues.join("; ")}`, { issues });
}
