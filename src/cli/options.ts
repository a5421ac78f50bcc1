import { type ParseArgsConfig, parseArgs } from 'node:util'
import type { LevelWithSilent } from 'pino'
import { DEFAULT_CBORRPC_PORT } from '../cborrpc/server.js'
import { DEFAULT_LIMITS } from '../cache/options.js'
import { ExitCode } from './exit-codes.js'
import { isLogFormat, isLogLevel, LOG_FORMATS, LOG_LEVELS, type LogFormat } from './logging.js'
import { databaseUrlProblem, redactUrl } from './start-error.js'
import type { HttpApiOptions } from './http-api.js'
import { UsageError } from './usage-error.js'

/** What the command line asks of the daemon; runDaemon takes this plus what tests inject. */
export interface DaemonCommandLine {
  databaseUrl?: string
  dataDir: string
  host: string
  port: number
  configFile?: string
  logLevel: LevelWithSilent
  /** Default: pretty on a terminal, JSON otherwise. */
  logFormat?: LogFormat
  /** How long a stop lets running requests finish, in ms. */
  shutdownTimeoutMs: number
  /** Work units the cache keeps; absent: the cache's default. */
  cacheWorkUnits?: number
  /** The HTTP API's address, token and allowed Host names; null with `--http off`. */
  http: HttpApiOptions | null
}

/** The outcome of parsing argv: run with options, or print the help. */
export type ParsedCommandLine = { help: true } | { help: false; options: DaemonCommandLine }

/** Where the HTTP API listens unless --http says otherwise. */
export const DEFAULT_HTTP = '127.0.0.1:5980'

/** Where embedded PGlite keeps its files when no database URL is given. */
export const DEFAULT_DATA_DIR = './coordinate-data'

const DEFAULT_SHUTDOWN_TIMEOUT_S = 10

/** The `coordinated --help` text. */
export const USAGE = `Usage: coordinated [options]

Serves Coordinate's job queue to Python Coordinate clients over CBOR-RPC.

Options:
  --database-url URL   PostgreSQL to keep state in (default: $DATABASE_URL; without
                       either, embedded PGlite in --data-dir)
  --data-dir DIR       PGlite data directory (default ${DEFAULT_DATA_DIR})
  --listen HOST:PORT   address to serve on (default 127.0.0.1:${DEFAULT_CBORRPC_PORT}; port 0 picks one)
  --config FILE.yaml   configuration returned by get_config (default: empty)
  --http HOST:PORT|off REST API, /metrics, /healthz and /readyz (default ${DEFAULT_HTTP})
  --http-token TOKEN   require "Authorization: Bearer TOKEN" on HTTP (all but /healthz)
                       (default: $COORDINATE_HTTP_TOKEN)
  --http-allowed-host NAME
                       accept this Host header name too (repeatable; the bound address
                       and, on loopback, localhost are always accepted)
  --log-level LEVEL    ${LOG_LEVELS.join(', ')} (default info)
  --log-format FORMAT  ${LOG_FORMATS.join(' or ')} (default: pretty on a terminal, json otherwise)
  --shutdown-timeout S seconds a stop lets running requests finish (default ${DEFAULT_SHUTDOWN_TIMEOUT_S})
  --cache-units N      work units the in-memory cache keeps, which bounds its memory
                       (about 2 kB a unit plus its data; default ${DEFAULT_LIMITS.workUnits})
  -h, --help           print this help and exit

SIGINT or SIGTERM stops accepting connections, lets running requests finish (for at most
--shutdown-timeout seconds, then answers them with an error), closes the database and exits;
the process is gone at most a second after the timeout, whatever hangs. A second signal exits
at once.

Exit status: ${ExitCode.stopped} stopped when asked; ${ExitCode.usage} bad command line; ${ExitCode.config} unusable --config file;
${ExitCode.listen} cannot listen on --listen; ${ExitCode.database} cannot open the database; ${ExitCode.shutdownIncomplete} a stop did not finish
in time; ${ExitCode.failed} anything else; 130/143 a second SIGINT/SIGTERM.
`


type FlagsConfig = NonNullable<ParseArgsConfig['options']>
type Flags<T extends FlagsConfig> = ReturnType<typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: false }>>['values']

/** Parses `--flag value` arguments against `options`, no positionals; throws UsageError on bad ones. */
export function parseFlags<const T extends FlagsConfig>(argv: readonly string[], options: T): Flags<T> {
  try {
    return parseArgs({ args: [...argv], options, strict: true, allowPositionals: false }).values
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error))
  }
}

/** Parses the daemon's arguments (without node and the script); throws UsageError on bad ones. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedCommandLine {
  const values = parseFlags(argv, {
    'database-url': { type: 'string' },
    'data-dir': { type: 'string' },
    listen: { type: 'string' },
    config: { type: 'string' },
    'log-level': { type: 'string' },
    'log-format': { type: 'string' },
    'shutdown-timeout': { type: 'string' },
    'cache-units': { type: 'string' },
    http: { type: 'string' },
    'http-token': { type: 'string' },
    'http-allowed-host': { type: 'string', multiple: true },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) return { help: true }
  const logLevel = values['log-level'] ?? 'info'
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${logLevel}`)
  const logFormat = values['log-format']
  if (logFormat !== undefined && !isLogFormat(logFormat)) throw new UsageError(`--log-format must be one of ${LOG_FORMATS.join(', ')}, not ${logFormat}`)
  const { host, port } = parseListen(values.listen ?? `127.0.0.1:${DEFAULT_CBORRPC_PORT}`)
  const shutdownTimeoutMs = parseSeconds(values['shutdown-timeout'] ?? String(DEFAULT_SHUTDOWN_TIMEOUT_S))
  const databaseUrl = values['database-url'] ?? (env.DATABASE_URL || undefined)
  const options: DaemonCommandLine = { dataDir: values['data-dir'] ?? DEFAULT_DATA_DIR, host, port, logLevel, shutdownTimeoutMs, http: parseHttp(values, env) }
  if (logFormat !== undefined) options.logFormat = logFormat
  if (databaseUrl !== undefined) {
    const problem = databaseUrlProblem(databaseUrl)
    const from = values['database-url'] === undefined ? '$DATABASE_URL' : '--database-url'
    if (problem) throw new UsageError(`${from} ${problem}: ${JSON.stringify(redactUrl(databaseUrl))} (expected postgres://USER@HOST:PORT/DATABASE)`)
    options.databaseUrl = databaseUrl
  }
  if (values.config !== undefined) options.configFile = values.config
  if (values['cache-units'] !== undefined) options.cacheWorkUnits = parseCount(values['cache-units'], '--cache-units')
  return { help: false, options }
}

/** The HTTP API settings from --http, --http-token (or the environment) and --http-allowed-host. */
function parseHttp(values: { http?: string; 'http-token'?: string; 'http-allowed-host'?: string[] }, env: NodeJS.ProcessEnv): HttpApiOptions | null {
  if (values.http === 'off') return null
  const { host, port } = parseListen(values.http ?? DEFAULT_HTTP, '--http')
  const http: HttpApiOptions = { host, port, allowedHosts: values['http-allowed-host'] ?? [] }
  const token = values['http-token'] ?? (env.COORDINATE_HTTP_TOKEN || undefined)
  if (token !== undefined) http.token = token
  return http
}

/** Splits `host:port` on the last colon; `[::1]:5932` gives host `::1`. */
export function parseListen(text: string, flag = '--listen'): { host: string; port: number } {
  const colon = text.lastIndexOf(':')
  if (colon < 0) throw new UsageError(`${flag} must be HOST:PORT, not ${text}`)
  let host = text.slice(0, colon)
  const portText = text.slice(colon + 1)
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1)
  const port = Number(portText)
  if (host === '' || !/^\d+$/.test(portText) || port > 65535) throw new UsageError(`${flag} must be HOST:PORT, not ${text}`)
  return { host, port }
}

/** A flag's whole number of at least 1; UsageError otherwise. */
export function parseCount(text: string, flag: string): number {
  if (!/^\d+$/.test(text.trim()) || Number(text) < 1) throw new UsageError(`${flag} must be a whole number of at least 1, not ${text}`)
  return Number(text)
}

function parseSeconds(text: string): number {
  const seconds = Number(text)
  if (text.trim() === '' || !Number.isFinite(seconds) || seconds < 0) throw new UsageError(`--shutdown-timeout must be a number of seconds, not ${text}`)
  return Math.round(seconds * 1000)
}
