/**
 * The one way Baton writes a time for people and machines: ISO 8601 in UTC.
 * `iso` keeps the milliseconds (JSON answers, event details, files); `isoSeconds`
 * drops them (messages and tables, where a second is precise enough).
 */

/** `2026-01-02T03:04:05.678Z`; `-` for null. */
export function iso(date: Date): string;
export function iso(date: Date | null): string;
export function iso(date: Date | null): string {
  return date === null ? "-" : date.toISOString();
}

/** `2026-01-02T03:04:05Z`; `-` for null. */
export function isoSeconds(date: Date): string;
export function isoSeconds(date: Date | null): string;
export function isoSeconds(date: Date | null): string {
  return date === null ? "-" : date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
