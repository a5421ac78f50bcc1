// The package's public entry: the abstract API, the Postgres backend, the cache, and the pieces
// the daemon is made of (for embedding the jobserver in another program).
export * from './coordinate/index.js'
export type { LockService } from './coordinate/locks.js'
export { type OpenOptions, openCoordinate } from './postgres/open.js'
export type { PostgresCoordinate } from './postgres/coordinate.js'
export type { PruneResult, RetentionPolicy } from './postgres/retention.js'
export * from './cache/index.js'
export { CborRpcServer, type RpcHandler } from './cborrpc/server.js'
export * from './jobserver/index.js'
export { type DaemonHandle, type DaemonOptions, runDaemon } from './cli/daemon.js'
export * from './worker/index.js'
