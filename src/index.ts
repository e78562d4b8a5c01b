/**
 * Baton: a coordination layer for fleets of autonomous agents.
 *
 * @packageDocumentation
 */
export {
  API_METHODS,
  type ApiEvent,
  type ApiIdentity,
  type BatonApi,
  type EventQuery,
  type OperationInput,
  type OperationName,
  type OperationResult,
} from "./api/baton-api.js";
export { CATALOGUE, type Operation, type OperationContext } from "./api/catalogue.js";
export {
  fetchTransport,
  HttpBatonApi,
  type HttpBatonApiOptions,
  type HttpTransport,
  nodeHttpTransport,
} from "./api/http-client.js";
export { InProcessBatonApi, type InProcessBatonApiOptions } from "./api/in-process-api.js";
export {
  Baton,
  type ClaimContext,
  type FollowLogOptions,
  type ClaimWithPathsOptions,
  type ClaimWithPathsResult,
  type LocalGateOptions,
  type OpenBatonOptions,
  openBaton,
  type PathClaimOptions,
  type WithClaimOptions,
  type WithClaimResult,
} from "./baton.js";
export { formatDuration, parseDuration } from "./core/duration.js";
export {
  BatonError,
  type DenialCode,
  ERROR_CODES,
  type ErrorCode,
  EXIT_BAD_INPUT,
  EXIT_INTERNAL,
  EXIT_NO,
  EXIT_UNAVAILABLE,
  ERROR_KINDS,
  type ErrorKind,
  type Hint,
  isBatonError,
  kindOf,
} from "./core/errors.js";
export { parseAgent, parseKey, parseToken } from "./core/identity.js";
export {
  type FenceDb,
  type FencedFileOptions,
  fencedModify,
  fencedModifyFile,
  type FencedReadFileResult,
  fencedRead,
  fencedReadFile,
  type FencedRow,
  type FencedRowResult,
  type FenceRefusal,
  fencedUpdate,
  fencedWriteFile,
  type FencedWriteFileResult,
  fenceFileOf,
  type FencePgDb,
  type FenceSqliteDb,
} from "./fencing.js";
export type { DurationInput } from "./core/schemas.js";
export type {
  BatonEvent,
  Claim,
  ClaimState,
  EventKind,
  PathClaim,
  StoredClaimState,
  Task,
  TaskState,
} from "./core/types.js";
export type {
  ActionResult,
  CheckResult,
  ClaimOptions,
  ClaimResult,
  ListOptions,
  LogOptions,
  ReapResult,
  ResolveResult,
  ShowResult,
} from "./services/claims.js";
export type { ContextItem, ContextResult, ContextSection } from "./services/context.js";
export type {
  EffectOutcome,
  GateMark,
  GateMarkers,
  GateMarkWithSkips,
  GateOptions,
  GateRunOptions,
  GateRunResult,
  GateSkip,
} from "./services/gates.js";
export type { PathClaimResult } from "./services/paths.js";
export type {
  NextOptions,
  NextResult,
  PathResolver,
  PathsAt,
  SupplyFinding,
  SupplyResult,
  SupplyVerdict,
  TaskChange,
  TaskSpec,
  TaskStateResult,
  UpdateTaskResult,
} from "./services/tasks.js";
export type { Identity, TokenInfo } from "./services/tokens.js";
export type { PathConflict } from "./store/store.js";
export type { Checkout, RepoOptions } from "./workspace/checkout.js";
export type { GuardFinding, ProbeOptions, ProbeResult, SyncCheckOptions, SyncCheckResult } from "./workspace/guards.js";
export {
  defaultDbPath,
  locateRegistry,
  type RegistryLocation,
  type RegistryRule,
} from "./workspace/registry-location.js";
export { openSqliteStore, SqliteStore, type SqliteStoreOptions, type SqliteSync } from "./store/sqlite/sqlite-store.js";
export type { GroupCommitOptions, GroupCommitStats } from "./store/sqlite/sqlite-batch.js";
export type { Store, StoreCapabilities, Unwatch } from "./store/store.js";
