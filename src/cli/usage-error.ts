/** A command line that cannot run (exit status 2, for every bin); the message says why. */
export class UsageError extends Error {
  override name = 'UsageError'
}
