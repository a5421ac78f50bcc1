import { DatabaseUnavailableError } from '../coordinate/errors.js'

/**
 * How a failed statement relates to a lost database connection: 'not-sent' when it failed
 * while connecting (it never reached the server), 'dropped' when the connection broke while
 * it ran (for a write, the commit may or may not have happened), undefined when the failure
 * has nothing to do with the connection.
 */
export type ConnectionFailure = 'not-sent' | 'dropped'

// SQLSTATEs: 57P03 cannot_connect_now (starting up or shutting down), 53300 too_many_connections,
// 08001 unable to establish, 08004 rejected: all answered to a connection attempt.
const REFUSED_CODES = new Set(['57P03', '53300', '08001', '08004'])
// 57P01 admin_shutdown (pg_terminate_backend, a fast shutdown), 57P02 crash_shutdown, and the
// other connection exceptions.
const DROPPED_CODES = new Set(['57P01', '57P02', '08000', '08003', '08006', '08007'])
const REFUSED_ERRNO = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'])
const DROPPED_ERRNO = new Set(['ECONNRESET', 'EPIPE', 'ETIMEDOUT'])
// A pooled client that broke while idle (a server restart): the next client may be fine.
const DEAD_CLIENT = 'Client has encountered a connection error and is not queryable'
// pg and pg-pool say these without a code.
const REFUSED_MESSAGES = ['timeout exceeded when trying to connect', 'Connection terminated due to connection timeout', DEAD_CLIENT]
const DROPPED_MESSAGES = ['Connection terminated unexpectedly', 'Connection terminated']

/** Classifies `error` (see ConnectionFailure). */
export function connectionFailure(error: unknown): ConnectionFailure | undefined {
  if (!(error instanceof Error)) return undefined
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (REFUSED_CODES.has(code) || REFUSED_ERRNO.has(code)) return 'not-sent'
    if (DROPPED_CODES.has(code) || DROPPED_ERRNO.has(code)) return 'dropped'
  }
  if (REFUSED_MESSAGES.includes(error.message)) return 'not-sent'
  if (DROPPED_MESSAGES.includes(error.message)) return 'dropped'
  // AggregateError from a connect to several addresses (localhost as ::1 and 127.0.0.1).
  if (error instanceof AggregateError && error.errors.length > 0 && error.errors.every((e) => connectionFailure(e) === 'not-sent')) return 'not-sent'
  return undefined
}

/**
 * True when the server refused a new connection or did not answer in time (it is down, starting
 * up, or full): trying again at once would fail the same way. A dead pooled client is not this.
 */
export function connectRefused(error: unknown): boolean {
  return connectionFailure(error) === 'not-sent' && (error as Error).message !== DEAD_CLIENT
}

/** The error a caller gets for a statement that failed with a lost connection. */
export function unavailable(error: Error, applied: 'no' | 'unknown'): DatabaseUnavailableError {
  const reason = error.message || (error as { code?: string }).code || error.name
  return Object.assign(new DatabaseUnavailableError(applied, reason), { cause: error })
}

// A statement that only reads: SELECT or WITH … SELECT with no data-changing keyword, no row
// lock and no call of a function of ours (which may write). Anything else counts as a write.
const WRITE_WORDS = /\b(insert|update|delete|merge|truncate|nextval|setval|pg_notify|pg_advisory\w*|for\s+(no\s+key\s+)?update|for\s+(key\s+)?share|set_config|lock)\b/i
const OUR_FUNCTIONS = /\b(claim|complete|chained|request|expire|prune|bump|notify)\w*\s*\(/i

/** Whether `text` is a statement that changes nothing, and so may be repeated after a dropped connection. */
export function isReadOnlyStatement(text: string): boolean {
  return /^\s*(select|with)\b/i.test(text) && !WRITE_WORDS.test(text) && !OUR_FUNCTIONS.test(text)
}
