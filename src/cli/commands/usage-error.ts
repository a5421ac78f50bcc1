/** The `coordinate` command line is wrong (exit status 2); the message says how. */
export class UsageError extends Error {
  override name = 'UsageError'
}
