// The package's public entry, listed name by name: what is here is supported, and a change to
// it shows in the API report (api/coordinate-ts.api.md, checked by `npm run lint`). Everything
// else under src/ is internal, however it is exported between modules.

// Opening a Coordinate on PostgreSQL or embedded PGlite, and what it offers beyond the API.
export { type OpenOptions, openCoordinate } from './postgres/open.js'
export type { PostgresCoordinate } from './postgres/coordinate.js'
export type { PostgresChangeFeed } from './postgres/change-listener.js'
export type { PruneResult, RetentionPolicy } from './postgres/retention.js'

// The Coordinate API every implementation offers.
export type {
  AddWorkUnitItem,
  Attempt,
  AttemptCompletion,
  AttemptRenewal,
  AttemptRequest,
  Coordinate,
  Namespace,
  RenewalOutcome,
  Summarizable,
  SummaryRecord,
  VersionGuard,
  WorkSpec,
  WorkUnit,
  WorkUnitMeta,
  WorkUnitQuery,
  Worker,
  WorkerUpdate,
} from './coordinate/api.js'
export type { WorkSpecMeta, WorkSpecMetaUpdate } from './coordinate/work-spec-meta.js'
export type { WorkSpecSnapshot, WorkUnitSnapshot } from './coordinate/work-unit-snapshot.js'
export { ATTEMPT_STATUSES, type AttemptStatus, WORK_UNIT_STATUSES, type WorkUnitStatus, isWorkUnitStatus } from './coordinate/status.js'

// Data dicts: what work specs, units, attempts and workers carry.
export { type DataDict, type DataMap, type DataValue, Tuple, Uuid, type WorkUnitKey } from './coordinate/data.js'

// Errors: every failure the API reports is one of these; the same classes, by code, cross the
// HTTP API (a test fails when an error class is missing from that code table).
export {
  BadWorkSpecNameError,
  ChangedNameError,
  ClosedError,
  ConflictError,
  CoordinateError,
  DatabaseUnavailableError,
  DeletionConflictError,
  type DataDirHolder,
  DataDirLockedError,
  GoneError,
  InvalidInputError,
  LostLeaseError,
  NoSuchWorkSpecError,
  NoSuchWorkUnitError,
  NotPendingError,
  NoWorkSpecNameError,
  VersionConflictError,
  WrongBackendError,
} from './coordinate/errors.js'
export type { CoordinateErrorCode } from './coordinate/error-codes.js'

// Time, injectable for tests.
export { type Clock, FakeClock, systemClock } from './coordinate/clock.js'

// Committed changes from every process, as a cache consumes them.
export type {
  ChangeEvent,
  ChangeFeed,
  NamespaceChanged,
  ResyncNeeded,
  WorkSpecChanged,
  WorkUnitsChanged,
} from './coordinate/change-feed.js'

// The jobserver's hierarchical locks.
export type { LockLabel, LockPath, LockResult, LockService } from './coordinate/locks.js'

// The name-identity cache over any Coordinate.
export { CacheCoordinate, cacheCoordinate } from './cache/cache-coordinate.js'
export { type CacheLimits, type CacheOptions, DEFAULT_LIMITS, type ReadOptions } from './cache/options.js'
export { type CacheLevel, CacheMetrics, type CacheOp } from './cache/metrics.js'
export type { NamespaceProxy } from './cache/namespace-proxy.js'
export type { SpecMetaOptions, WorkSpecProxy } from './cache/work-spec-proxy.js'
export type { UpdateFn, WorkUnitProxy } from './cache/work-unit-proxy.js'
export type { WorkerProxy } from './cache/worker-proxy.js'
export type { AttemptProxy } from './cache/attempt-proxy.js'

// The daemon and its parts, for embedding the Python-compatible jobserver in another program.
export { type DaemonHandle, type DaemonOptions, runDaemon } from './cli/daemon.js'
export type { ShutdownReport, ShutdownStage } from './cli/daemon-shutdown.js'
export { CborRpcServer, type CborRpcServerOptions, type RpcHandler, type RpcLogger } from './cborrpc/server.js'
export { JobServer, type JobServerOptions } from './jobserver/job-server.js'

// The worker runtime: handlers per work spec over any Coordinate.
export { type StopOptions, WorkerRuntime, runWorkers } from './worker/runtime.js'
export {
  type TaskContext,
  type TaskHandler,
  type TaskList,
  type TaskUnit,
  type WorkerEvent,
  type WorkerLogger,
  type WorkerOptions,
  silentLogger,
} from './worker/options.js'
export { ManualTimers, type Timers, systemTimers } from './worker/timers.js'
export { InvalidTaskOutputError, TaskAbortedError } from './worker/task-outcome.js'
export { defaultRetryDelayMs } from './worker/settings.js'
export { DaemonStartError, type StartStep } from './cli/start-error.js'

// The HTTP API: its server inside coordinated, and a Coordinate over it for remote programs.
export { RestCoordinate, restCoordinate, type RestClientOptions, TransportError } from './rest/client/index.js'
export { type RestAppOptions, type RestServer, createRestApp, startRestServer } from './rest/rest-server.js'
export { HttpError, NoSuchAttemptError } from './rest/errors.js'
export { decodeKey, decodeName, encodeName } from './rest/names.js'
export type { CheckResult, ReadinessProbe } from './rest/routes-health.js'
