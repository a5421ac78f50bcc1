/**
 * The `coordinated` command's exit statuses (also listed in its --help). A second SIGINT or
 * SIGTERM exits at once with 128 + the signal's number (130, 143), as a shell reports it.
 */
export const ExitCode = {
  /** Stopped when asked, nothing left behind (requests past the timeout were answered with an error). */
  stopped: 0,
  /** An unexpected error. */
  failed: 1,
  /** The command line or the options are wrong. */
  usage: 2,
  /** The --config file cannot be read or is not a YAML mapping. */
  config: 3,
  /** The listening address cannot be bound (in use, not a local address, not allowed). */
  listen: 4,
  /** The database cannot be opened: unreachable, refused, missing, or its schema cannot be migrated. */
  database: 5,
  /** A stop did not finish in time: the database was left to close, or the watchdog ended the process. */
  shutdownIncomplete: 6,
} as const
