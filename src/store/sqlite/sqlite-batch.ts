/**
 * Group commit for the SQLite store: write operations submitted while the event loop is busy
 * are decided one after another inside ONE `BEGIN IMMEDIATE` transaction, and every one is
 * answered only after that transaction commits. An operation that may undo its writes by design
 * (a Rollback: a task edit refused half-way) runs in a SAVEPOINT of its own; the others run
 * without one.
 *
 * What stays as without it:
 * - each decision is atomic and ordered: operations run in submission order, each with the
 *   clock read under the write lock, each seeing the ones before it;
 * - durability: no answer before its commit (at `synchronous=FULL`, one fsync a batch
 *   instead of one per operation — which is the whole gain);
 * - an operation in a savepoint that throws rolls back only its savepoint, and answers its own
 *   error; one without a savepoint that throws (a disk error, a bug: what it wrote cannot be
 *   told apart) breaks the batch, which is then decided again operation by operation, as below.
 *
 * A batch whose transaction fails after it started (the COMMIT fails, or a statement error
 * made SQLite roll the whole transaction back) answers nobody with that batch: each of its
 * operations is decided again in a transaction of its own, so every answer is that of a
 * commit that happened. A batch that cannot begin (the lock stayed busy past the busy
 * timeout) answers every operation with that error: nothing was decided.
 *
 * The batch is flushed from `setImmediate`: every request whose bytes arrived in the same turn
 * of the event loop joins it.
 *
 * Syncing off the event loop (when the store passes a `sync`, as it does at synchronous=FULL):
 * the batches commit at synchronous=NORMAL — SQLite writes the WAL frames but does not fsync
 * them — and their answers wait for an fsync of the WAL file run on libuv's thread pool. While
 * it runs, the event loop reads the next requests and decides and commits the next batches;
 * one fsync then covers every batch committed before it began (at most one is in flight). The
 * promise is the same as FULL's: no write is answered before the WAL frames holding it are on
 * disk. A read answered through {@link GroupCommit.afterDurable} waits the same way, so no
 * answer shows a state a power cut could still take back.
 */
import type Database from "better-sqlite3";

/** Group-commit settings. */
export interface GroupCommitOptions {
  /** Most operations in one transaction (default 256); the rest go to the next one. */
  readonly maxBatch?: number;
  /**
   * How long a batch may wait for the rest of its peers, ms (default 1; 0 never waits). A batch
   * waits only while fewer than half as many operations are queued as the previous batch carried:
   * under steady concurrency the clients answered by one commit send their next requests a moment
   * apart, and without the wait each commit would carry half of them (two syncs instead of one).
   * One caller at a time never waits. PostgreSQL's `commit_delay` with `commit_siblings` is the
   * same idea.
   */
  readonly maxDelayMs?: number;
}

/** Counts for tests and benchmarks: transactions committed and operations they carried. */
export interface GroupCommitStats {
  readonly batches: number;
  readonly operations: number;
  /** The most operations one committed batch carried. */
  readonly largest: number;
  /** Batches whose transaction failed, their operations decided again one by one. */
  readonly retried: number;
  /** fsyncs the batcher ran (0 when the store syncs in each COMMIT): off the event loop, or on it for a lone write. */
  readonly syncs: number;
  /** Of those, the ones run on the event loop: a batch of one write with nothing else waiting. */
  readonly inlineSyncs: number;
}

/** How the store makes its commits durable when its connection commits without syncing. */
export interface SyncOffLoop {
  /**
   * Make every commit so far durable off the event loop, then call `done` (with the error when
   * the sync failed). Called again only after the previous call has called back.
   */
  readonly later: (done: (error: Error | null) => void) => void;
  /** The same, on the event loop: the error, or null once the commits are durable. */
  readonly now: () => Error | null;
}

/** What the store does around each batch (see the GroupCommit constructor). */
export interface BatchHooks {
  readonly begin?: () => void;
  readonly finish?: () => void;
  readonly end?: () => void;
  readonly sync?: SyncOffLoop;
}

/** Something to answer once the commits before it are durable (null: they are). */
type AfterSync = (error: Error | null) => void;

/** One submitted operation. */
interface Pending {
  /** The decision, run inside the batch or alone (in its own transaction). */
  readonly decide: () => unknown;
  /**
   * Whether `decide` may throw by design after it wrote (a Rollback): it runs in a savepoint of
   * its own. Any other runs without one, and a throw from it breaks the batch (see #batch).
   */
  readonly mayRollBack: boolean;
  /** Map an error thrown by `decide` to an answer (a Rollback's value) or rethrow it translated. */
  readonly recover: (error: unknown) => unknown;
  /** Decide alone, in a transaction of its own (the commit-per-operation path). */
  readonly alone: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

/**
 * The batch's transaction broke under an operation (SQLite rolled it back, or an operation
 * without a savepoint threw after it may have written): decide every operation again alone.
 */
class BatchBroken extends Error {}

/** Queues write operations and commits them in groups. Synchronous driver, one connection. */
export class GroupCommit {
  readonly #db: Database.Database;
  readonly #maxBatch: number;
  /** The batch's transaction: BEGIN IMMEDIATE … COMMIT, ROLLBACK on a throw. */
  readonly #batch: Database.Transaction<(ops: readonly Pending[], results: unknown[]) => void>;
  /** One operation's savepoint (better-sqlite3 nests a transaction as SAVEPOINT … RELEASE). */
  readonly #savepoint: Database.Transaction<(decide: () => unknown) => unknown>;
  readonly #maxDelayMs: number;
  #queue: Pending[] = [];
  #scheduled = false;
  /** Operations the last committed batch carried. */
  #lastSize = 0;
  #timer: NodeJS.Timeout | undefined;
  #stats = { batches: 0, operations: 0, largest: 0, retried: 0, syncs: 0, inlineSyncs: 0 };
  readonly #sync: SyncOffLoop | undefined;
  /** Released when the fsync in flight completes; undefined while none is. */
  #inFlight: AfterSync[] | undefined;
  /** Released by the fsync after the one in flight (committed since it began). */
  #next: AfterSync[] = [];
  /** Committed since the last fsync began: a read must wait for the next one. */
  #dirty = false;
  /** Resolves when nothing waits for a sync (close waits for it). */
  #drained: (() => void)[] = [];

  /** Checked once a batch, under its write lock, before any decision (the store's file check). */
  readonly #guard: (() => void) | undefined;
  /** Run after a batch's decisions, in its transaction, before it commits. */
  readonly #finish: (() => void) | undefined;
  /** Run when a batch's transaction has ended (committed or rolled back), before anything else runs. */
  readonly #end: (() => void) | undefined;

  /**
   * `hooks.begin` runs at the start of each batch's transaction; if it throws, the batch decides
   * nothing and every operation in it answers that error. The store checks there that its
   * file is still the one at its path: once a batch instead of once an operation.
   * `hooks.finish` runs after the batch's decisions, inside its transaction, before the COMMIT
   * (the store writes there what it kept for the batch); if it throws, the batch is decided again
   * operation by operation. `hooks.end` runs once the transaction has ended, whichever way. With
   * `hooks.sync`, the connection commits without syncing and `sync` makes the commits durable
   * off the event loop before they are answered (see the module's comment).
   */
  constructor(db: Database.Database, options: GroupCommitOptions = {}, hooks: BatchHooks = {}) {
    this.#db = db;
    this.#guard = hooks.begin;
    this.#finish = hooks.finish;
    this.#end = hooks.end;
    this.#sync = hooks.sync;
    this.#maxBatch = Math.max(1, Math.floor(options.maxBatch ?? 256));
    this.#maxDelayMs = Math.max(0, options.maxDelayMs ?? 1);
    this.#savepoint = db.transaction((decide: () => unknown) => decide());
    this.#batch = db.transaction((ops: readonly Pending[], results: unknown[]) => {
      this.#guard?.();
      for (const op of ops) {
        if (!op.mayRollBack) {
          // No savepoint (SAVEPOINT + RELEASE were about 6% of a claim's CPU through the server):
          // such a decision throws only when something broke (a disk error, a bug), and then
          // what it wrote before the throw cannot be told apart, so the whole batch rolls back
          // and each operation is decided again in a transaction of its own.
          try {
            results.push({ value: op.decide() });
          } catch (error) {
            throw new BatchBroken("an operation without a savepoint threw", { cause: error });
          }
          continue;
        }
        try {
          results.push({ value: this.#savepoint(op.decide) });
        } catch (error) {
          // The savepoint was rolled back; the batch goes on, unless SQLite ended the transaction.
          if (!this.#db.inTransaction)
            throw new BatchBroken("the batch's transaction was rolled back", { cause: error });
          results.push({ error });
        }
      }
      try {
        this.#finish?.();
      } catch (error) {
        throw new BatchBroken("the batch's last write failed", { cause: error });
      }
    });
  }

  get stats(): GroupCommitStats {
    return { ...this.#stats };
  }

  /** Operations waiting for the next batch. */
  get pending(): number {
    return this.#queue.length;
  }

  /**
   * Queue one write. `decide` runs in the batch's transaction (in a savepoint when
   * `mayRollBack`: it may throw by design after writing); `recover` turns what it throws into an
   * answer or a translated error; `alone` decides it in a transaction of its own, used only when
   * a batch fails after it began.
   */
  submit<T>(decide: () => T, recover: (error: unknown) => T, alone: () => T, mayRollBack = true): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ decide, recover, alone, mayRollBack, resolve: resolve as (value: unknown) => void, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#due());
      }
    });
  }

  /** The batch is due: wait once for its peers if the last batch was much larger, else commit. */
  #due(): void {
    if (this.#timer === undefined && this.#maxDelayMs > 0 && this.#queue.length * 2 < this.#lastSize) {
      this.#timer = setTimeout(() => this.flush(), this.#maxDelayMs);
      return;
    }
    this.flush();
  }

  /** Commit everything queued now (the store calls this before it closes). */
  flush(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#scheduled = false;
    while (this.#queue.length > 0) {
      const ops = this.#queue.length <= this.#maxBatch ? this.#queue : this.#queue.slice(0, this.#maxBatch);
      this.#queue = ops === this.#queue ? [] : this.#queue.slice(ops.length);
      this.#commit(ops);
      // Past one full batch, let the event loop answer and read before the next one.
      if (this.#queue.length > 0 && !this.#scheduled) {
        this.#scheduled = true;
        setImmediate(() => this.#due());
        return;
      }
    }
  }

  #commit(ops: readonly Pending[]): void {
    const results: ({ value: unknown } | { error: unknown })[] = [];
    try {
      this.#batch.immediate(ops, results);
    } catch (error) {
      this.#end?.();
      if (results.length === 0 && !(error instanceof BatchBroken)) {
        // BEGIN or the guard failed (busy past the timeout, the file gone or replaced): nothing was decided.
        for (const op of ops) settle(op, () => op.recover(error));
        return;
      }
      // Decided but not committed: nobody may hear this batch's answers. Decide each alone.
      this.#stats.retried++;
      const answers = ops.map((op) => {
        try {
          return { value: op.alone() };
        } catch (failure) {
          return { failure };
        }
      });
      this.#committed((syncError) =>
        ops.forEach((op, i) => {
          const answer = answers[i] as { value: unknown } | { failure: unknown };
          if (syncError !== null) op.reject(syncError);
          else if ("value" in answer) op.resolve(answer.value);
          else op.reject(answer.failure);
        }),
      );
      return;
    }
    this.#end?.();
    this.#lastSize = ops.length;
    this.#stats.batches++;
    this.#stats.operations += ops.length;
    this.#stats.largest = Math.max(this.#stats.largest, ops.length);
    this.#committed(
      (error) =>
        ops.forEach((op, i) => {
          const result = results[i] as { value: unknown } | { error: unknown };
          if (error !== null) op.reject(error);
          else if ("value" in result) op.resolve(result.value);
          else settle(op, () => op.recover(result.error));
        }),
      ops.length,
    );
  }

  /**
   * `value` once every commit so far is durable: at once without an off-loop sync or when
   * nothing committed since the last one, else a promise settled by the sync that covers it.
   */
  afterDurable<T>(value: T): T | Promise<T> {
    if (this.#sync === undefined || (!this.#dirty && this.#inFlight === undefined)) return value;
    return new Promise<T>((resolve, reject) => {
      const answer: AfterSync = (error) => (error === null ? resolve(value) : reject(error));
      if (this.#dirty) {
        this.#next.push(answer);
        if (this.#inFlight === undefined) this.#startSync();
      } else (this.#inFlight as AfterSync[]).push(answer);
    });
  }

  /** Resolves once no answer waits for a sync. */
  drained(): Promise<void> {
    if (this.#inFlight === undefined && this.#next.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.#drained.push(resolve));
  }

  /**
   * A transaction committed: answer it now, or after the sync that makes it durable. A lone
   * write with nothing else in flight or queued (one client at a time) syncs on the event loop:
   * nobody else could use the loop meanwhile, and the thread pool's round trip is saved.
   */
  #committed(answer: AfterSync, writes = 2): void {
    const sync = this.#sync;
    if (sync === undefined) return answer(null);
    if (writes === 1 && this.#inFlight === undefined && this.#next.length === 0 && this.#queue.length === 0) {
      this.#dirty = false;
      this.#stats.syncs++;
      this.#stats.inlineSyncs++;
      return answer(sync.now());
    }
    this.#dirty = true;
    this.#next.push(answer);
    if (this.#inFlight === undefined) this.#startSync();
  }

  #startSync(): void {
    const batch = this.#next;
    this.#inFlight = batch;
    this.#next = [];
    this.#dirty = false;
    this.#stats.syncs++;
    (this.#sync as SyncOffLoop).later((error) => {
      this.#inFlight = undefined;
      for (const answer of batch) answer(error);
      if (this.#next.length > 0) this.#startSync();
      else for (const resolve of this.#drained.splice(0)) resolve();
    });
  }
}

function settle(op: Pending, answer: () => unknown): void {
  try {
    op.resolve(answer());
  } catch (error) {
    op.reject(error);
  }
}
