import { type DestinationStream, type LevelWithSilent, type Logger, pino } from 'pino'
import type { RpcLogger } from '../cborrpc/server.js'

/** The levels `--log-level` accepts, quietest last. */
export const LOG_LEVELS: readonly LevelWithSilent[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']

/** Tells whether a string names a pino level. */
export function isLogLevel(value: string): value is LevelWithSilent {
  return (LOG_LEVELS as readonly string[]).includes(value)
}

/** How log lines look: JSON objects for log shippers, or text for a person at a terminal. */
export type LogFormat = 'json' | 'pretty'

/** The formats `--log-format` accepts. */
export const LOG_FORMATS: readonly LogFormat[] = ['json', 'pretty']

/** Tells whether a string names a log format. */
export function isLogFormat(value: string): value is LogFormat {
  return (LOG_FORMATS as readonly string[]).includes(value)
}

/** The format to use when none is asked for: text on a terminal, JSON lines otherwise. */
export function defaultLogFormat(stdout: { isTTY?: boolean } = process.stdout): LogFormat {
  return stdout.isTTY ? 'pretty' : 'json'
}

/**
 * Where pretty log lines go: pino-pretty writing to stdout synchronously, so nothing is lost
 * when the process exits right after a line. Loaded only when asked for.
 */
export async function prettyDestination(colorize = Boolean(process.stdout.isTTY)): Promise<DestinationStream> {
  const { default: pretty } = await import('pino-pretty')
  return pretty({ sync: true, colorize, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,name' })
}

/** The daemon's logger: one JSON object per line on stdout (or `destination`), for log shippers to parse. */
export function createLogger(level: LevelWithSilent = 'info', destination?: DestinationStream): Logger {
  const options = { name: 'coordinated', level }
  return destination ? pino(options, destination) : pino(options)
}

/**
 * The CborRpcServer's logger on top of pino. The server's `info` lines are per-connection
 * chatter (a client hung up, a method failed and the client was told) so they go to debug;
 * warnings and errors stay what they are. `error` fields become pino's `err`, which it serializes
 * with message and stack (a plain Error would print as `{}`).
 */
export function rpcLogger(logger: Logger): RpcLogger {
  const child = logger.child({ component: 'cborrpc' })
  const fields = (extra: Record<string, unknown> | undefined): Record<string, unknown> => {
    if (!extra || !('error' in extra)) return extra ?? {}
    const { error, ...rest } = extra
    return { ...rest, err: error }
  }
  return {
    info: (message, extra) => child.debug(fields(extra), message),
    warn: (message, extra) => child.warn(fields(extra), message),
    error: (message, extra) => child.error(fields(extra), message),
  }
}
