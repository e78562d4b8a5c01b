import { BatonError } from "./errors.js";
import { describeInput } from "./identity.js";

const UNIT_MS = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
} as const;

/** The longest duration Baton accepts anywhere: 10 years, far beyond any sane TTL. */
export const MAX_DURATION_MS = 10 * 365 * UNIT_MS.d;

const DURATION_RE = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)?$/;

export interface ParseDurationOptions {
  /** Accept `0` (e.g. `reap --min-age 0`). Default false: a TTL must be positive. */
  allowZero?: boolean;
  /** The option's name, for the error message (e.g. `--ttl`). */
  name?: string;
}

/**
 * Parse a duration: `500ms`, `30s`, `15m`, `2h`, `1d`; a bare number means minutes
 * (the seed CLI's `--ttl 60`). Fractions are allowed (`1.5h`). Returns milliseconds,
 * rounded to a whole millisecond.
 *
 * @throws BatonError `BAD_DURATION` for anything else, including negative, zero
 *   (unless allowed) and more than ten years.
 */
export function parseDuration(input: string | number, options: ParseDurationOptions = {}): number {
  const name = options.name ?? "duration";
  const text = typeof input === "number" ? String(input) : typeof input === "string" ? input.trim().toLowerCase() : "";
  const match = DURATION_RE.exec(text);
  if (match === null) {
    const shown =
      typeof input === "string" || typeof input === "number" ? JSON.stringify(String(input)) : describeInput(input);
    throw new BatonError(
      "BAD_DURATION",
      `invalid ${name} ${shown}: use a number with a unit, e.g. 30s, 15m, 2h, 1d (a bare number means minutes)`,
      { value: shown },
    );
  }
  const amount = Number(match[1]);
  const unit = (match[2] ?? "m") as keyof typeof UNIT_MS;
  const ms = Math.round(amount * UNIT_MS[unit]);
  if (ms === 0 && !options.allowZero) {
    throw new BatonError(
      "BAD_DURATION",
      `invalid ${name} ${JSON.stringify(String(input))}: must be greater than zero`,
      {
        value: String(input),
      },
    );
  }
  if (ms > MAX_DURATION_MS) {
    throw new BatonError("BAD_DURATION", `invalid ${name} ${JSON.stringify(String(input))}: longer than 10 years`, {
      value: String(input),
    });
  }
  return ms;
}

/** Render milliseconds as a short human duration: `45s`, `12m`, `3h 5m`, `2d 4h`. */
export function formatDuration(ms: number): string {
  const negative = ms < 0;
  let rest = Math.abs(Math.round(ms));
  let out: string;
  if (rest < 1_000) out = `${rest}ms`;
  else if (rest < UNIT_MS.m) out = `${Math.floor(rest / UNIT_MS.s)}s`;
  else if (rest < UNIT_MS.h) out = `${Math.floor(rest / UNIT_MS.m)}m`;
  else if (rest < UNIT_MS.d) {
    const h = Math.floor(rest / UNIT_MS.h);
    rest -= h * UNIT_MS.h;
    const m = Math.floor(rest / UNIT_MS.m);
    out = m > 0 ? `${h}h ${m}m` : `${h}h`;
  } else {
    const d = Math.floor(rest / UNIT_MS.d);
    rest -= d * UNIT_MS.d;
    const h = Math.floor(rest / UNIT_MS.h);
    out = h > 0 ? `${d}d ${h}h` : `${d}d`;
  }
  return negative ? `-${out}` : out;
}
