/**
 * `/metrics` for `baton serve` (Prometheus text format, prom-client): grants, denials by
 * code, operation latency, live claims, store errors, event-stream clients and, on SQLite with
 * group commit, the batches committed and the writes they carried. One
 * registry per server, so several servers in one process never share counters.
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from "prom-client";
import type { OperationResult } from "../../api/catalogue.js";
import type { Baton } from "../../baton.js";
import type { GroupCommitStats } from "../../store/sqlite/sqlite-batch.js";

export interface Metrics {
  readonly registry: Registry;
  readonly operations: Counter<"operation" | "outcome">;
  readonly latency: Histogram<"operation">;
  readonly storeErrors: Counter;
  readonly streamClients: Gauge;
  /** Count one answered operation (grant, denial by code). */
  record(operation: string, result: OperationResult): void;
  /**
   * One operation's counters (plain totals, published at scrape) and its latency timer (the
   * histogram's label set resolved once), so a request hashes no label set to be counted.
   */
  forOperation(operation: string): OperationMetrics;
}

/** The metrics of one operation (see {@link Metrics.forOperation}). */
export interface OperationMetrics {
  /** Start timing an answer; call the result when it is answered. */
  startTimer(): () => void;
  /** Count one answer (grant, denial by code). */
  record(result: OperationResult): void;
  /** Count one failure that is not an answer (a thrown error). */
  error(): void;
}

export function createMetrics(baton: Baton): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "baton_process_" });
  // Answers are counted in plain numbers and published when /metrics is read: prom-client
  // hashes a label set on every inc(), even through a bound child (~3,000 instructions a
  // request for two counters under callgrind). `collect` sets each series to its total.
  const answered = new Map<string, { ok: number; no: number; error: number }>();
  const refused = new Map<string, number>();
  let granted = 0;
  const tally = (operation: string): { ok: number; no: number; error: number } => {
    let counts = answered.get(operation);
    if (counts === undefined) {
      counts = { ok: 0, no: 0, error: 0 };
      answered.set(operation, counts);
    }
    return counts;
  };
  const operations = new Counter({
    name: "baton_operations_total",
    help: "Operations answered, by operation and outcome (ok, no, error).",
    labelNames: ["operation", "outcome"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [operation, counts] of answered) {
        for (const outcome of ["ok", "no", "error"] as const) {
          if (counts[outcome] > 0) this.inc({ operation, outcome }, counts[outcome]);
        }
      }
    },
  });
  new Counter({
    name: "baton_grants_total",
    help: "Claims granted (claim and next).",
    registers: [registry],
    collect() {
      this.reset();
      this.inc(granted);
    },
  });
  new Counter({
    name: "baton_denials_total",
    help: "Expected refusals, by code (CLAIM_HELD, CLAIM_DONE, PATH_CONFLICT, ...).",
    labelNames: ["code"] as const,
    registers: [registry],
    collect() {
      this.reset();
      for (const [code, count] of refused) this.inc({ code }, count);
    },
  });
  const latency = new Histogram({
    name: "baton_operation_duration_seconds",
    help: "Time to answer an operation, by operation.",
    labelNames: ["operation"] as const,
    buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const storeErrors = new Counter({
    name: "baton_store_errors_total",
    help: "Requests that failed because the store was busy, unavailable or broken.",
    registers: [registry],
  });
  const streamClients = new Gauge({
    name: "baton_stream_clients",
    help: "Open event streams (/v1/events).",
    registers: [registry],
  });
  new Gauge({
    name: "baton_live_claims",
    help: "Live work claims (counted at scrape time).",
    registers: [registry],
    async collect() {
      // Counted in the store: listing them (up to 10,000 rows) took ~90 ms of the event loop a scrape.
      this.set(await baton.liveClaimCount());
    },
  });
  // SQLite group commit, when the store does it: batches committed and the writes they carried.
  const groupCommit = (): GroupCommitStats | undefined =>
    (baton.store as { groupCommitStats?: GroupCommitStats }).groupCommitStats;
  if (groupCommit() !== undefined) {
    new Gauge({
      name: "baton_group_commit_batches",
      help: "SQLite group commit: write transactions committed (each one sync at synchronous=FULL).",
      registers: [registry],
      collect() {
        this.set(groupCommit()?.batches ?? 0);
      },
    });
    new Gauge({
      name: "baton_group_commit_operations",
      help: "SQLite group commit: writes those transactions carried (divide by batches for the mean batch).",
      registers: [registry],
      collect() {
        this.set(groupCommit()?.operations ?? 0);
      },
    });
  }
  const record = (operation: string, result: OperationResult): void => {
    const counts = tally(operation);
    if (result.ok) counts.ok++;
    else counts.no++;
    if (!result.ok && result.code !== undefined) refused.set(result.code, (refused.get(result.code) ?? 0) + 1);
    if (result.ok && (operation === "claim" || operation === "next")) granted++;
  };
  const perOperation = new Map<string, OperationMetrics>();
  return {
    registry,
    operations,
    latency,
    storeErrors,
    streamClients,
    record,
    forOperation(operation) {
      let metrics = perOperation.get(operation);
      if (metrics === undefined) {
        const timer = latency.labels({ operation });
        const counts = tally(operation);
        const granting = operation === "claim" || operation === "next";
        metrics = {
          startTimer: () => {
            const start = performance.now();
            return () => timer.observe((performance.now() - start) / 1000);
          },
          record(result) {
            if (result.ok) {
              counts.ok++;
              if (granting) granted++;
            } else record(operation, result);
          },
          error: () => {
            counts.error++;
          },
        };
        perOperation.set(operation, metrics);
      }
      return metrics;
    },
  };
}
