/**
 * The one way Baton writes a time for people and machines: ISO 8601 in UTC.
 * `iso` keeps the milliseconds (JSON answers, event details, files); `isoSeconds`
 * drops them (messages and tables, where a second is precise enough).
 */

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from there on `toISOString` writes a six-digit year. */
const YEAR_10000_MS = 253_402_300_800_000;

/** The date part of the last day written (`2026-01-02T`), and that day's number since 1970. */
let lastDay = Number.NaN;
let lastDayText = "";

/** `YYYY-MM-DDT` of a day counted from 1970-01-01 (the proleptic Gregorian calendar's civil date). */
function dayText(day: number): string {
  // Howard Hinnant's civil_from_days, for days >= 0.
  const z = day + 719_468;
  const era = Math.floor(z / 146_097);
  const doe = z - era * 146_097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36_524) - Math.floor(doe / 146_096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  const y = yoe + era * 400 + (m <= 2 ? 1 : 0);
  return `${y}-${two(m)}-${two(d)}T`;
}

function two(n: number): string {
  return n < 10 ? `0${n}` : `${n}`;
}

/**
 * `date.toISOString()`, character for character, written in JavaScript for the years 1970 to
 * 9999: V8 formats it through C's printf, about 7,500 instructions a call, and a claim through
 * `baton serve` wrote three (a twelfth of its CPU). Other dates (and invalid ones, which throw
 * the same RangeError) go to `toISOString` itself.
 */
export function isoString(date: Date): string {
  const ms = date.getTime();
  if (!(ms >= 0 && ms < YEAR_10000_MS)) return date.toISOString();
  const day = Math.floor(ms / DAY_MS);
  if (day !== lastDay) {
    lastDayText = dayText(day);
    lastDay = day;
  }
  let rest = ms - day * DAY_MS;
  const h = Math.floor(rest / 3_600_000);
  rest -= h * 3_600_000;
  const m = Math.floor(rest / 60_000);
  rest -= m * 60_000;
  const s = Math.floor(rest / 1000);
  rest -= s * 1000;
  return `${lastDayText}${two(h)}:${two(m)}:${two(s)}.${rest < 10 ? "00" : rest < 100 ? "0" : ""}${rest}Z`;
}

/** `2026-01-02T03:04:05.678Z`; `-` for null. */
export function iso(date: Date): string;
export function iso(date: Date | null): string;
export function iso(date: Date | null): string {
  return date === null ? "-" : isoString(date);
}

/** `2026-01-02T03:04:05Z`; `-` for null. */
export function isoSeconds(date: Date): string;
export function isoSeconds(date: Date | null): string;
export function isoSeconds(date: Date | null): string {
  return date === null ? "-" : isoString(date).replace(/\.\d{3}Z$/, "Z");
}
