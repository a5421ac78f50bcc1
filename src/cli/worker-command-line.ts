import type { LevelWithSilent } from 'pino'
import { type HttpOrDatabaseTarget, flagOrEnvironmentTarget, httpToken } from './client/settings.js'
import { LOG_LEVELS, isLogLevel } from './logging.js'
import { parseCount, parseFlags } from './options.js'
import { UsageError } from './usage-error.js'

/** Where the worker finds its work: the database itself, or a coordinated daemon's REST API. */
export type WorkerTarget = HttpOrDatabaseTarget

/** What `coordinate-worker`'s command line asks for. */
export interface WorkerCommandLine {
  modulePath: string
  target: WorkerTarget
  schema?: string
  namespace: string
  concurrency: number
  leaseMs?: number
  gracePeriodMs: number
  workerName?: string
  parent?: string
  logLevel: LevelWithSilent
}

/** The outcome of parsing argv: run with options, or print the help. */
export type ParsedWorkerCommandLine = { help: true } | { help: false; options: WorkerCommandLine }

/** The `coordinate-worker --help` text. */
export const WORKER_USAGE = `Usage: coordinate-worker --module FILE [options]

Runs the handlers a module exports for their work specs until SIGINT or SIGTERM.
The module's default export maps work spec names to async functions:
  export default { crawl: async (unit, { signal }) => ({ fetched: unit.name }) }

Options:
  --module FILE          ES module (or CommonJS) exporting the handlers (required)
  --database-url URL     PostgreSQL holding the work (default: $DATABASE_URL)
  --http URL             a coordinated daemon's REST API instead (default: $COORDINATE_HTTP)
  --url URL              either of the two, told apart by the scheme (http:// or https://)
  --token TOKEN          bearer token for --http (default: $COORDINATE_HTTP_TOKEN)
  --schema NAME          Postgres schema of coordinate-ts's tables (default coordinate)
  --namespace NAME       namespace of the work specs (default: the empty name)
  --concurrency N        handlers running at once (default 8)
  --lease SECONDS        lease per attempt, renewed while it runs (default 300)
  --grace SECONDS        on a signal, how long running handlers may finish (default 10)
  --worker-name NAME     name in the worker registry (default host-pid-random)
  --parent NAME          register under this parent worker
  --log-level LEVEL      ${LOG_LEVELS.join(', ')} (default info)
  -h, --help             print this help and exit

On SIGINT or SIGTERM it stops claiming, lets running handlers finish within the grace
period, aborts the rest and gives their units back at once; a second signal exits now.
Exit status: 0 after a signal, 1 when the module or the database fails, 2 on bad usage.
`

/** Parses `coordinate-worker`'s arguments (without node and the script); throws UsageError on bad ones. */
export function parseWorkerCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): ParsedWorkerCommandLine {
  const values = parseFlags(argv, {
    module: { type: 'string' },
    'database-url': { type: 'string' },
    http: { type: 'string' },
    url: { type: 'string' },
    token: { type: 'string' },
    schema: { type: 'string' },
    namespace: { type: 'string' },
    concurrency: { type: 'string' },
    lease: { type: 'string' },
    grace: { type: 'string' },
    'worker-name': { type: 'string' },
    parent: { type: 'string' },
    'log-level': { type: 'string' },
    help: { type: 'boolean', short: 'h' },
  })
  if (values.help) return { help: true }
  if (!values.module) throw new UsageError('--module FILE is required')
  const target = workerTarget(values, env)
  const logLevel = values['log-level'] ?? 'info'
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${logLevel}`)
  const options: WorkerCommandLine = {
    modulePath: values.module,
    target,
    namespace: values.namespace ?? '',
    concurrency: parseCount(values.concurrency ?? '8', '--concurrency'),
    gracePeriodMs: seconds(values.grace ?? '10', '--grace', true),
    logLevel,
  }
  if (values.schema !== undefined) {
    if (target.kind === 'http') throw new UsageError('--schema is the database\'s; the daemon behind --http has its own')
    options.schema = values.schema
  }
  if (values.lease !== undefined) options.leaseMs = seconds(values.lease, '--lease', false)
  if (values['worker-name'] !== undefined) options.workerName = values['worker-name']
  if (values.parent !== undefined) options.parent = values.parent
  return { help: false, options }
}

// One of --database-url, --http and --url (told apart by its scheme), else the environment, by
// the rule the coordinate command uses (flagOrEnvironmentTarget); the token goes only with HTTP.
function workerTarget(values: { 'database-url'?: string; http?: string; url?: string; token?: string }, env: NodeJS.ProcessEnv): WorkerTarget {
  const given = (['database-url', 'http', 'url'] as const).filter((flag) => values[flag] !== undefined)
  if (given.length > 1) throw new UsageError('give only one of --database-url, --http and --url')
  const { url } = values
  const flags = url === undefined ? { http: values.http, databaseUrl: values['database-url'] } : /^https?:/i.test(url) ? { http: url } : { databaseUrl: url }
  const chosen = flagOrEnvironmentTarget(flags, env, httpToken(values, env), false)
  if (chosen === undefined) throw new UsageError('give --database-url or --http (or set DATABASE_URL or COORDINATE_HTTP)')
  const { target } = chosen
  if (target.kind === 'http' && !/^https?:\/\/./i.test(target.url)) {
    throw new UsageError(`the REST API's address must be an http:// or https:// URL, not ${target.url}`)
  }
  if (values.token !== undefined && target.kind !== 'http') throw new UsageError('--token goes with --http')
  return target
}

function seconds(text: string, flag: string, zeroAllowed: boolean): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zeroAllowed)) {
    throw new UsageError(`${flag} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number of seconds, not ${text}`)
  }
  return n * 1000
}
