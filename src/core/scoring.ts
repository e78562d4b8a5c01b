/**
 * Choosing the next task, pure: a score per ready task from its priority, its age,
 * a Thompson sample of its category's success rate (steering the fleet toward what
 * works) and a saturation penalty for categories that took too large a share of the
 * recent selections (the anti-monotony guard). Randomness is seedable.
 */

/** A ready task as the scorer sees it. */
export interface Candidate {
  readonly id: string;
  readonly category: string;
  /** 0..100. */
  readonly priority: number;
  readonly createdAt: number;
  /** Tier 1: assigned to this agent, or urgent (priority ≥ 90). */
  readonly tier: 1 | 2;
}

/** A category's outcome counts (already decayed), as Beta(α, β) pseudo-counts. */
export interface CategoryStats {
  readonly successes: number;
  readonly failures: number;
}

export interface ScoreTerms {
  readonly id: string;
  readonly category: string;
  readonly tier: 1 | 2;
  readonly priority: number;
  readonly age: number;
  readonly steering: number;
  readonly saturation: number;
  readonly total: number;
}

export interface ScoringOptions {
  readonly now: number;
  /** Outcome counts per category. */
  readonly stats: ReadonlyMap<string, CategoryStats>;
  /** Categories of the last selections, newest first. */
  readonly recent: readonly string[];
  readonly seed: number;
  /** Share of the recent selections above which a category is penalised. Default 0.5. */
  readonly saturationCap?: number;
}

/** Weights, documented in docs/NEXT.md. */
export const WEIGHTS = { age: 0.5, ageCap: 20, steering: 30, saturation: 150, cap: 0.5, window: 20 } as const;

/** mulberry32: a small, fast, seedable generator (uniform in [0, 1)). */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function normal(random: () => number): number {
  // Box–Muller.
  const u = Math.max(random(), 1e-12);
  const v = random();
  return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
}

/** Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted). */
function gamma(shape: number, random: () => number): number {
  if (shape < 1) return gamma(shape + 1, random) * random() ** (1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number;
    let v: number;
    do {
      x = normal(random);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = random();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

/** A sample from Beta(α, β). */
export function betaSample(alpha: number, beta: number, random: () => number): number {
  const x = gamma(alpha, random);
  const y = gamma(beta, random);
  return x / (x + y);
}

/**
 * Score every candidate; best first (tier 1 before tier 2, then the total, then the id
 * for a stable order). One Thompson sample per category per call.
 */
export function scoreCandidates(candidates: readonly Candidate[], options: ScoringOptions): ScoreTerms[] {
  const random = rng(options.seed);
  const cap = options.saturationCap ?? WEIGHTS.cap;
  const categories = [...new Set(candidates.map((c) => c.category))].sort();
  const theta = new Map<string, number>();
  for (const category of categories) {
    const s = options.stats.get(category) ?? { successes: 0, failures: 0 };
    theta.set(category, betaSample(1 + s.successes, 1 + s.failures, random));
  }
  const window = options.recent.slice(0, WEIGHTS.window);
  const count = new Map<string, number>();
  for (const c of window) count.set(c, (count.get(c) ?? 0) + 1);
  const terms = candidates.map((c): ScoreTerms => {
    const ageHours = Math.max(0, options.now - c.createdAt) / 3_600_000;
    const age = Math.min(WEIGHTS.ageCap, ageHours * WEIGHTS.age);
    const steering = WEIGHTS.steering * (theta.get(c.category) ?? 0.5);
    // The share this category would have of the recent selections if picked again: above
    // the cap, a penalty larger than any priority gap, so another category goes first.
    const projected = ((count.get(c.category) ?? 0) + 1) / (window.length + 1);
    const saturation =
      window.length >= 4 && projected > cap ? WEIGHTS.saturation * (1 + (projected - cap) / (1 - cap)) : 0;
    const total = c.priority + age + steering - saturation;
    return { id: c.id, category: c.category, tier: c.tier, priority: c.priority, age, steering, saturation, total };
  });
  return terms.sort((a, b) => a.tier - b.tier || b.total - a.total || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Decay old outcomes: each count halves every `halfLifeMs`. */
export function decay(value: number, ageMs: number, halfLifeMs: number): number {
  return value * 0.5 ** (Math.max(0, ageMs) / halfLifeMs);
}
