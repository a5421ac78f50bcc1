import { DatabaseUnavailableError } from '../coordinate/errors.js'
import { ExitCode } from './exit-codes.js'
import { DaemonStartError } from './start-error.js'

/** A start-up failure as the command line reports it: one sentence, and the exit status. */
export interface StartFailure {
  sentence: string
  exitCode: number
}

/**
 * Says in one plain sentence why the daemon did not start and what to check, naming the
 * command-line option involved. Errors that are not a DaemonStartError are unexpected.
 */
export function explainStartFailure(error: unknown): StartFailure {
  if (!(error instanceof DaemonStartError)) return { sentence: `coordinated failed to start: ${messageOf(error)}`, exitCode: ExitCode.failed }
  const { where } = error
  // The driver's own error says what to check (refused, a name that does not resolve, a login).
  const cause = error.cause instanceof DatabaseUnavailableError && error.cause.cause !== undefined ? error.cause.cause : error.cause
  const code = errorCode(cause)
  switch (error.step) {
    case 'options':
      return { sentence: `${messageOf(cause)}; see coordinated --help`, exitCode: ExitCode.usage }
    case 'config':
      return { sentence: configSentence(where, code, cause), exitCode: ExitCode.config }
    case 'listen':
      return { sentence: listenSentence(where, code, cause), exitCode: ExitCode.listen }
    case 'database':
      return { sentence: where.includes('://') ? postgresSentence(where, code, cause) : pgliteSentence(where, cause), exitCode: ExitCode.database }
  }
}

function configSentence(file: string, code: string | undefined, cause: unknown): string {
  if (code === 'ENOENT') return `cannot read the config file ${file}: it does not exist; check --config`
  if (code === 'EACCES') return `cannot read the config file ${file}: permission denied; check --config`
  return `the config file ${file} is not usable (${messageOf(cause)}); check --config`
}

function listenSentence(address: string, code: string | undefined, cause: unknown): string {
  switch (code) {
    case 'EADDRINUSE':
      return `cannot listen on ${address}: the address is in use (is another coordinated running on ${address}?); stop it or choose another --listen`
    case 'EADDRNOTAVAIL':
      return `cannot listen on ${address}: it is not an address of this machine; check --listen`
    case 'EACCES':
      return `cannot listen on ${address}: permission denied (ports below 1024 need privileges); check --listen`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot listen on ${address}: the host name does not resolve; check --listen`
    default:
      return `cannot listen on ${address} (${messageOf(cause)}); check --listen`
  }
}

function postgresSentence(url: string, code: string | undefined, cause: unknown): string {
  switch (code) {
    case 'ECONNREFUSED':
      return `cannot connect to PostgreSQL at ${url}: connection refused; check --database-url and that PostgreSQL is running there`
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return `cannot connect to PostgreSQL at ${url}: the host name does not resolve; check --database-url`
    case 'ETIMEDOUT':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return `cannot connect to PostgreSQL at ${url}: the host cannot be reached; check --database-url and the network`
    case '28P01':
    case '28000':
      return `PostgreSQL at ${url} refused the login (${messageOf(cause)}); check the user and password in --database-url`
    case '3D000':
      return `PostgreSQL at ${url} has no such database (${messageOf(cause)}); create it or check --database-url`
    default:
      return `cannot open the database at ${url} (${messageOf(cause)}); check --database-url`
  }
}

function pgliteSentence(dir: string, cause: unknown): string {
  return `cannot open the PGlite data directory ${dir} (${messageOf(cause)}); check --data-dir: it must be writable and used by no other coordinated`
}

// Node's connection errors and pg's server errors carry a code; connecting to a name with
// several addresses fails with an AggregateError whose parts do.
function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, errors } = error as { code?: unknown; errors?: unknown }
  if (typeof code === 'string') return code
  return Array.isArray(errors) ? errorCode(errors[0]) : undefined
}

function messageOf(error: unknown): string {
  const text = error instanceof Error ? error.message || errorCode(error) || error.name : String(error)
  return text.replace(/\s+/g, ' ').trim()
}
