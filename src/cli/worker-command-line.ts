import type { LevelWithSilent } from 'pino'
import { LOG_LEVELS, isLogLevel } from './logging.js'
import { UsageError, parseFlags } from './options.js'

/** What `coordinate-worker`'s command line asks for. */
export interface WorkerCommandLine {
  modulePath: string
  databaseUrl: string
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
  const databaseUrl = values['database-url'] ?? (env.DATABASE_URL || undefined)
  if (!databaseUrl) throw new UsageError('give --database-url or set DATABASE_URL')
  const logLevel = values['log-level'] ?? 'info'
  if (!isLogLevel(logLevel)) throw new UsageError(`--log-level must be one of ${LOG_LEVELS.join(', ')}, not ${logLevel}`)
  const options: WorkerCommandLine = {
    modulePath: values.module,
    databaseUrl,
    namespace: values.namespace ?? '',
    concurrency: count(values.concurrency ?? '8', '--concurrency'),
    gracePeriodMs: seconds(values.grace ?? '10', '--grace', true),
    logLevel,
  }
  if (values.schema !== undefined) options.schema = values.schema
  if (values.lease !== undefined) options.leaseMs = seconds(values.lease, '--lease', false)
  if (values['worker-name'] !== undefined) options.workerName = values['worker-name']
  if (values.parent !== undefined) options.parent = values.parent
  return { help: false, options }
}

function count(text: string, flag: string): number {
  const n = Number(text)
  if (!/^\d+$/.test(text) || n < 1) throw new UsageError(`${flag} must be a positive whole number, not ${text}`)
  return n
}

function seconds(text: string, flag: string, zeroAllowed: boolean): number {
  const n = Number(text)
  if (text.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !zeroAllowed)) {
    throw new UsageError(`${flag} must be a ${zeroAllowed ? 'non-negative' : 'positive'} number of seconds, not ${text}`)
  }
  return n * 1000
}
