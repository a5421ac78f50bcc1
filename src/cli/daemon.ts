import { readFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { LevelWithSilent, Logger } from 'pino'
import { CborRpcServer, DEFAULT_CBORRPC_PORT } from '../cborrpc/server.js'
import type { Coordinate } from '../coordinate/api.js'
import { type Clock, systemClock } from '../coordinate/clock.js'
import type { DataDict } from '../coordinate/data.js'
import { InvalidInputError } from '../coordinate/errors.js'
import { JobServer } from '../jobserver/job-server.js'
import { lockMethods } from '../jobserver/locks.js'
import type { PostgresCoordinate } from '../postgres/coordinate.js'
import { openCoordinate } from '../postgres/open.js'
import { loadConfigFile } from './config.js'
import { type ShutdownReport, type ShutdownStage, shutDown } from './daemon-shutdown.js'
import { InFlight } from './in-flight.js'
import { createLogger, rpcLogger } from './logging.js'
import { DEFAULT_DATA_DIR } from './options.js'
import { wrapBackend } from './serve-through-cache.js'
import { DaemonStartError, databaseUrlProblem, redactUrl, startStep } from './start-error.js'
import { type HttpApiOptions, daemonMetrics, startHttpApi } from './http-api.js'

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
  logLevel?: LevelWithSilent
  /**
   * How long stop() waits for requests already received before abandoning them (default
   * 10 s). Abandoned requests get an error answer, and the connections are ended.
   */
  shutdownTimeoutMs?: number
  /**
   * Work units the daemon's cache keeps (default 100,000, least recently used go first). The
   * cache's memory grows with the units served until it holds this many, about 2 kB each plus
   * their data, and then stays there.
   */
  cacheWorkUnits?: number
  /** Default: the system clock. */
  clock?: Clock
  /** Told each shutdown stage as it begins, for a watchdog to report where a stop hangs. */
  onShutdownStage?: (stage: ShutdownStage) => void
  /** The HTTP API (REST, /metrics, /healthz, /readyz); off when absent or null (the command line's default is 127.0.0.1:5980). */
  http?: HttpApiOptions | null
}

/** A running daemon. */
export interface DaemonHandle {
  /** Where it listens (the real port when 0 was asked for). */
  readonly address: { host: string; port: number }
  /** Where the HTTP API listens, when it is on. */
  readonly httpAddress?: { host: string; port: number }
  /**
   * Stops accepting, finishes (or after the timeout abandons) running requests, closes the
   * database; resolves within the shutdown timeout plus 0.7 s whatever hangs. Idempotent.
   */
  stop(): Promise<ShutdownReport>
}

const DEFAULT_SHUTDOWN_TIMEOUT_MS = 10_000

/**
 * Starts the daemon and returns once it serves: checks the options, reads the config file,
 * binds the listener (before the database, so a busy port fails at once and leaves nothing
 * behind), opens the database, and serves namespace "" over CBOR-RPC. A failure throws a
 * DaemonStartError naming the step, after closing whatever was opened.
 *
 * @example
 * const daemon = await runDaemon({ databaseUrl: process.env.DATABASE_URL, port: 0 })
 * console.log(daemon.address.port)
 * await daemon.stop()
 */
export async function runDaemon(options: DaemonOptions = {}): Promise<DaemonHandle> {
  const logger = options.logger ?? createLogger(options.logLevel ?? 'info')
  const database = await startStep('options', 'the options', () => checkOptions(options))
  const config = await startStep('config', options.configFile ?? 'the config', () => readConfig(options))
  const requests = new InFlight()
  const server = new CborRpcServer(requests.handler, {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? DEFAULT_CBORRPC_PORT,
    logger: rpcLogger(logger),
  })
  const address = await startStep('listen', `${options.host ?? '127.0.0.1'}:${options.port ?? DEFAULT_CBORRPC_PORT}`, () => server.listen())
  let coordinate: PostgresCoordinate
  try {
    coordinate = await startStep('database', database.where, () => openDatabase(database, options, logger))
  } catch (error) {
    // Requests that arrived meanwhile wait for a database that will not come: answer them.
    requests.abandon()
    await server.close()
    throw error
  }
  const backend = wrapBackend(coordinate, logger, options.cacheWorkUnits === undefined ? undefined : { workUnits: options.cacheWorkUnits })
  const closeDatabase = async (): Promise<void> => {
    if (backend !== coordinate) await backend.close()
    await coordinate.close()
  }
  // HTTP API (http-api.ts): its metrics also time the CBOR-RPC calls; it shares the cache.
  const metrics = options.http ? daemonMetrics(coordinate, backend) : undefined
  try {
    requests.serve(await jobServer(backend, coordinate, config, options).then((jobs) => (metrics ? metrics.instrumentRpc(jobs.handler, jobs.methodNames) : jobs.handler)))
  } catch (error) {
    requests.abandon()
    await server.close()
    await closeDatabase()
    throw new DaemonStartError('database', database.where, error)
  }
  logger.info({ address: `${address.host}:${address.port}`, database: database.kind, databaseLocation: database.where, version: packageVersion() }, 'coordinated started')
  const http = options.http && metrics
    ? await startStep('listen', `HTTP ${options.http.host}:${options.http.port}`, () =>
        startHttpApi(options.http!, { store: coordinate, served: backend, metrics, logger, version: packageVersion() }),
      ).catch(async (error: unknown) => {
        await server.close()
        await closeDatabase()
        throw error
      })
    : undefined
  let stopping: Promise<ShutdownReport> | undefined
  const timeoutMs = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  // The HTTP server drains alongside the CBOR-RPC one, and is closed before the database.
  const drainHttpThenCloseDatabase = (httpClosed: Promise<void> | undefined) => async (): Promise<void> => {
    await httpClosed
    await closeDatabase()
  }
  return {
    address,
    ...(http ? { httpAddress: http.address } : {}),
    stop: () =>
      (stopping ??= shutDown({
        server,
        requests,
        closeDatabase: drainHttpThenCloseDatabase(http?.close(timeoutMs)),
        logger,
        timeoutMs,
        ...(options.onShutdownStage ? { onStage: options.onShutdownStage } : {}),
      })),
  }
}

/** Which database the daemon keeps its state in, and how to name it in logs and errors. */
interface DatabaseChoice {
  kind: 'postgres' | 'pglite'
  /** The URL with its password hidden, or the data directory's absolute path. */
  where: string
}

function checkOptions(options: DaemonOptions): DatabaseChoice {
  const port = options.port ?? DEFAULT_CBORRPC_PORT
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new InvalidInputError(`port must be an integer from 0 to 65535, not ${port}`)
  const timeout = options.shutdownTimeoutMs ?? DEFAULT_SHUTDOWN_TIMEOUT_MS
  if (!Number.isFinite(timeout) || timeout < 0) throw new InvalidInputError(`shutdownTimeoutMs must be a number of milliseconds, not ${timeout}`)
  if (!options.databaseUrl) return { kind: 'pglite', where: resolve(options.dataDir ?? DEFAULT_DATA_DIR) }
  const problem = databaseUrlProblem(options.databaseUrl)
  if (problem) throw new InvalidInputError(`databaseUrl ${problem}: ${JSON.stringify(redactUrl(options.databaseUrl))}`)
  return { kind: 'postgres', where: redactUrl(options.databaseUrl) }
}

async function readConfig(options: DaemonOptions): Promise<DataDict> {
  if (options.config) return options.config
  return options.configFile !== undefined ? await loadConfigFile(options.configFile) : {}
}

function openDatabase(database: DatabaseChoice, options: DaemonOptions, logger: Logger): Promise<PostgresCoordinate> {
  return openCoordinate({
    ...(options.databaseUrl ? { databaseUrl: options.databaseUrl } : { dataDir: database.where }),
    ...(options.clock ? { clock: options.clock } : {}),
    logger,
  })
}

async function jobServer(backend: Coordinate, coordinate: PostgresCoordinate, config: DataDict, options: DaemonOptions): Promise<JobServer> {
  return new JobServer({
    namespace: await backend.namespace(''),
    config,
    clock: options.clock ?? systemClock,
    // Locks bypass the cache: they must be decided by the database every time.
    lockMethods: lockMethods(coordinate.locks()),
  })
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
