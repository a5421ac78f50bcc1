import type { Logger } from 'pino'
import type { CborRpcServer } from '../cborrpc/server.js'
import { type InFlight, settlesWithin } from './in-flight.js'

/** Where a shutdown is: what it waits for now. */
export type ShutdownStage = 'draining requests' | 'abandoning requests' | 'closing the database' | 'stopped'

/** How a stop went: what it had to give up on. */
export interface ShutdownReport {
  /** Requests still running at the shutdown timeout, answered with an error. */
  abandonedRequests: number
  /** False when the database did not close in time and was left to close on its own. */
  databaseClosed: boolean
}

/** What a shutdown closes, and how long it may wait. */
export interface ShutdownParts {
  server: CborRpcServer
  requests: InFlight
  closeDatabase: () => Promise<void>
  logger: Logger
  /** How long running requests may take before they are abandoned. */
  timeoutMs: number
  /** Told each stage as it begins (a watchdog reports the last one if the stop hangs). */
  onStage?: (stage: ShutdownStage) => void
}

// After abandoning requests, how long to let the error answers go out before closing the database anyway.
const ABANDON_GRACE_MS = 200
// How long past the shutdown timeout closing the database may take before the stop gives up on
// it. With the grace above, a stop takes at most the timeout plus 0.7 s, inside the second the
// command line's watchdog allows.
const DATABASE_CLOSE_GRACE_MS = 500

/**
 * Stops accepting, lets running requests finish until the timeout, abandons the rest, and
 * closes the database; returns within `timeoutMs` + 0.7 s whatever hangs.
 */
export async function shutDown(parts: ShutdownParts): Promise<ShutdownReport> {
  const { server, requests, logger } = parts
  const deadline = Date.now() + parts.timeoutMs
  const stage = (name: ShutdownStage): void => parts.onStage?.(name)
  stage('draining requests')
  logger.info({ inFlight: requests.count, connections: server.connectionCount }, 'shutting down')
  const closed = server.close()
  closed.catch((error: unknown) => logger.error({ err: error }, 'closing the listener failed'))
  let abandonedRequests = 0
  if (!(await settlesWithin(closed, parts.timeoutMs))) {
    stage('abandoning requests')
    abandonedRequests = requests.count
    logger.warn({ inFlight: requests.count, connections: server.connectionCount, timeoutMs: parts.timeoutMs }, 'requests still running at the shutdown timeout; abandoning them')
    requests.abandon()
    if (!(await settlesWithin(closed, ABANDON_GRACE_MS))) {
      logger.warn({ connections: server.connectionCount }, 'connections still open; closing the database anyway')
    }
  }
  // An abandoned request can still hold a pooled connection (waiting on a lock, say), and
  // closing the pool waits for it; past the grace period, stop without waiting further.
  stage('closing the database')
  const closing = parts.closeDatabase()
  closing.catch((error: unknown) => logger.error({ err: error }, 'closing the database failed'))
  const databaseClosed = await settlesWithin(closing, Math.max(deadline, Date.now()) + DATABASE_CLOSE_GRACE_MS - Date.now())
  if (!databaseClosed) logger.warn({ graceMs: DATABASE_CLOSE_GRACE_MS }, 'the database did not close in time; leaving it to close on its own')
  stage('stopped')
  logger.info({ abandonedRequests, databaseClosed }, 'coordinated stopped')
  return { abandonedRequests, databaseClosed }
}
