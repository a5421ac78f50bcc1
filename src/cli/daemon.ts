import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Logger } from 'pino'
import { CborRpcServer, DEFAULT_CBORRPC_PORT, type RpcHandler } from '../cborrpc/server.js'
import { type Clock, systemClock } from '../coordinate/clock.js'
import type { DataDict } from '../coordinate/data.js'
import { JobServer } from '../jobserver/job-server.js'
import { lockMethods } from '../jobserver/locks.js'
import type { PostgresCoordinate } from '../postgres/coordinate.js'
import { openCoordinate } from '../postgres/open.js'
import { loadConfigFile } from './config.js'
import { createLogger, rpcLogger } from './logging.js'
import { DEFAULT_DATA_DIR } from './options.js'
import { wrapBackend } from './serve-through-cache.js'

/** How to run the daemon: the command line's settings, plus what a program or test may inject. */
export interface DaemonOptions {
  /** PostgreSQL URL; without it, embedded PGlite in `dataDir`. */
  databaseUrl?: string
  /** PGlite data directory (default `./coordinate-data`), used only without `databaseUrl`. */
  dataDir?: string
  /** Default 127.0.0.1. */
  host?: string
  /** Default 5932; 0 picks a free port (see the handle's `address`). */
  port?: number
  /** A YAML file whose mapping get_config returns; ignored when `config` is given. */
  configFile?: string
  /** The mapping get_config returns (default: the config file's, else empty). */
  config?: DataDict
  /** Default: pino JSON lines on stdout at `logLevel`. */
  logger?: Logger
  /** Default info; ignored when `logger` is given. */
  logLevel?: Parameters<typeof createLogger>[0]
  /**
   * How long stop() waits for requests already received before abandoning them (default
   * 10 s). Abandoned requests get an error answer, and the connections are ended.
   */
  shutdownTimeoutMs?: number
  /** Default: the system clock. */
  clock?: Clock
}

/** A running daemon. */
export interface DaemonHandle {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: { host: string; port: number }
  /** Stops accepting, finishes (or after the timeout abandons) running requests, closes the database. Idempotent. */
  stop(): Promise<void>
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000
// After abandoning requests, how long to let the error answers go out before closing the database anyway.
const ABANDON_GRACE_MS = 2_000
// How long closing the database may take before stop() returns without it.
const DATABASE_CLOSE_GRACE_MS = 5_000

/**
 * Opens the store, serves namespace "" over CBOR-RPC, and returns once it listens.
 *
 * @example
 * const daemon = await runDaemon({ databaseUrl: process.env.DATABASE_URL, port: 0 })
 * console.log(daemon.address.port)
 * await daemon.stop()
 */
export async function runDaemon(options: DaemonOptions = {}): Promise<DaemonHandle> {
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info')
  const config = options.config ?? (options.configFile !== undefined ? await loadConfigFile(options.configFile) : {})
  const database = options.databaseUrl
    ? { kind: 'postgres' as const, where: redactUrl(options.databaseUrl) }
    : { kind: 'pglite' as const, where: resolve(options.dataDir ?? DEFAULT_DATA_DIR) }
  const coordinate: PostgresCoordinate = await openCoordinate({
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : { dataDir: database.where }),
    ...(options.clock ? { clock: options.clock } : {}),
    logger,
  })
  try {
    const backend = wrapBackend(coordinate, logger)
    const jobs = new JobServer({
      namespace: await backend.namespace(''),
      config,
      clock: options.clock ?? systemClock,
      // Locks bypass the cache: they must be decided by the database every time.
      lockMethods: lockMethods(coordinate.locks()),
    })
    const requests = new InFlight(jobs.handler)
    const server = new CborRpcServer(requests.handler, {
      host: options.host ?? '127.0.0.1',
      port: options.port ?? DEFAULT_CBORRPC_PORT,
      logger: rpcLogger(logger),
    })
    const address = await server.listen()
    logger.info({ address: `${address.host}:${address.port}`, database: database.kind, databaseLocation: database.where, version: packageVersion() }, 'coordinated started')
    let stopping: Promise<void> | undefined
    const shutdown = async (): Promise<void> => {
      const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
      logger.info({ inFlight: requests.count, connections: server.connectionCount }, 'shutting down')
      const closed = server.close()
      if (!(await settlesWithin(closed, timeoutMs))) {
        logger.warn({ inFlight: requests.count, connections: server.connectionCount, timeoutMs }, 'requests still running at the shutdown timeout; abandoning them')
        requests.abandon()
        if (!(await settlesWithin(closed, ABANDON_GRACE_MS))) {
          logger.warn({ connections: server.connectionCount }, 'connections still open; closing the database anyway')
        }
      }
      // An abandoned request can still hold a pooled connection (waiting on a lock, say), and
      // closing the pool waits for it; past the grace period, stop without waiting further.
      const closing = (async () => {
        if (backend !== coordinate) await backend.close()
        await coordinate.close()
      })()
      if (!(await settlesWithin(closing, DATABASE_CLOSE_GRACE_MS))) {
        logger.warn({ graceMs: DATABASE_CLOSE_GRACE_MS }, 'the database did not close in time; leaving it to close on its own')
        closing.catch((error: unknown) => logger.error({ err: error }, 'closing the database failed'))
      }
      logger.info('coordinated stopped')
    }
    return {
      address,
      stop: () => (stopping ??= shutdown()),
    }
  } catch (error) {
    await coordinate.close()
    throw error
  }
}

/**
 * Counts the requests being served and can abandon them: CborRpcServer.close() waits for every
 * answer, and a request stuck on the database (a lock wait, a lost connection) must not hold
 * the shutdown forever. Abandoning answers each with an error; the connection then ends as usual.
 */
class InFlight {
  readonly handler: RpcHandler
  #count = 0
  #abandoned = false
  readonly #abandon: Promise<never>
  #reject!: (error: Error) => void

  constructor(inner: RpcHandler) {
    this.#abandon = new Promise<never>((_, reject) => {
      this.#reject = reject
    })
    // Nobody may be waiting when it rejects; that must not count as an unhandled rejection.
    this.#abandon.catch(() => undefined)
    this.handler = async (method, params, context) => {
      if (this.#abandoned) throw new Error('coordinated is shutting down')
      this.#count++
      try {
        return await Promise.race([inner(method, params, context), this.#abandon])
      } finally {
        this.#count--
      }
    }
  }

  /** Requests received and not yet answered. */
  get count(): number {
    return this.#count
  }

  /** Makes every running and later request fail at once. */
  abandon(): void {
    this.#abandoned = true
    this.#reject(new Error('coordinated is shutting down; the request was abandoned'))
  }
}

async function settlesWithin(promise: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), ms)
  })
  try {
    return await Promise.race([promise.then(() => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** A database URL with its password hidden, for logs. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}

let version: string | undefined

/** This package's version, read from the package.json above this file (in src/ or in dist/src/). */
export function packageVersion(): string {
  if (version !== undefined) return version
  let dir = dirname(fileURLToPath(import.meta.url))
  for (;;) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { name?: unknown; version?: unknown }
      if (pkg.name === 'coordinate-ts' && typeof pkg.version === 'string') return (version = pkg.version)
    } catch {
      // No package.json here; look further up.
    }
    const parent = dirname(dir)
    if (parent === dir) return (version = 'unknown')
    dir = parent
  }
}
