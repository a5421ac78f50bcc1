/** The steps of the daemon's start, in order; a failure names the one it happened in. */
export type StartStep = 'options' | 'config' | 'listen' | 'database'

/**
 * The daemon could not start. `step` says which part failed, `where` what it was working on (the
 * address, the redacted database URL or data directory, the config file) and `cause` the
 * underlying error. Whatever was already open has been closed again.
 */
export class DaemonStartError extends Error {
  override name = 'DaemonStartError'

  constructor(
    readonly step: StartStep,
    readonly where: string,
    cause: unknown,
  ) {
    super(`coordinated could not start (${step}, ${where}): ${cause instanceof Error ? cause.message : String(cause)}`, { cause })
  }
}

/** Runs one start step, turning whatever it throws into a DaemonStartError for that step. */
export async function startStep<T>(step: StartStep, where: string, run: () => Promise<T> | T): Promise<T> {
  try {
    return await run()
  } catch (error) {
    throw error instanceof DaemonStartError ? error : new DaemonStartError(step, where, error)
  }
}

/** What is wrong with a database URL, or undefined if it is one pg can use. */
export function databaseUrlProblem(url: string): string | undefined {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    return 'is not a URL'
  }
  if (parsed.protocol !== 'postgres:' && parsed.protocol !== 'postgresql:') return `is a ${parsed.protocol.slice(0, -1)} URL, not postgres://`
  return undefined
}

/** A database URL with its password hidden, for logs and messages. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')
}
