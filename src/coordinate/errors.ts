/** Base class of every error coordinate-ts throws on purpose; `code` is stable for programs to match. */
export class CoordinateError extends Error {
  constructor(readonly code: string, message: string) {
    super(message)
    this.name = new.target.name
  }
}

/** A work spec with this name does not exist in the namespace. */
export class NoSuchWorkSpecError extends CoordinateError {
  constructor(readonly workSpecName: string) {
    super('NO_SUCH_WORK_SPEC', `No such work spec ${workSpecName}`)
  }
}

/** A work unit with this key does not exist in the work spec. */
export class NoSuchWorkUnitError extends CoordinateError {
  constructor(readonly workUnitName: string) {
    super('NO_SUCH_WORK_UNIT', `No such work unit ${JSON.stringify(workUnitName)}`)
  }
}

/** The object behind a handle (or one of its ancestors) was deleted. */
export class GoneError extends CoordinateError {
  constructor(what = 'Object') {
    super('GONE', `${what} no longer exists`)
  }
}

/** A work spec dict lacks a non-empty `name`. */
export class NoWorkSpecNameError extends CoordinateError {
  constructor() {
    super('NO_WORK_SPEC_NAME', "No 'name' key in work spec")
  }
}

/** A work spec dict has a `name` that is not a string. */
export class BadWorkSpecNameError extends CoordinateError {
  constructor() {
    super('BAD_WORK_SPEC_NAME', "Work spec 'name' must be a string")
  }
}

/** setData tried to rename a work spec. */
export class ChangedNameError extends CoordinateError {
  constructor() {
    super('CHANGED_NAME', "Cannot change work spec 'name'")
  }
}

/** An attempt transition was asked of an attempt that is no longer pending. */
export class NotPendingError extends CoordinateError {
  constructor() {
    super('NOT_PENDING', 'Attempt is not pending')
  }
}

/** An attempt was renewed after another attempt took over its work unit. */
export class LostLeaseError extends CoordinateError {
  constructor() {
    super('LOST_LEASE', 'No longer the active attempt')
  }
}

/** A handle from one Coordinate was passed to another. */
export class WrongBackendError extends CoordinateError {
  constructor() {
    super('WRONG_BACKEND', 'Object belongs to a different coordinate backend')
  }
}

/** An argument is malformed (bad key, bad data, bad query, bad option); nothing was written. */
export class InvalidInputError extends CoordinateError {
  constructor(message: string) {
    super('INVALID_INPUT', message)
  }
}

/** A compare-and-swap write kept losing to concurrent writers and gave up. */
export class ConflictError extends CoordinateError {
  constructor(what: string) {
    super('CONFLICT', `Concurrent updates to ${what} kept conflicting`)
  }
}

/**
 * A deletion gave up: in each of its rounds another writer held an attempt made on a selected
 * unit after the deletion had locked that unit's attempts. It deleted nothing (its transaction
 * rolled back); trying again later is safe.
 */
export class DeletionConflictError extends ConflictError {
  constructor(
    /** How many rounds the deletion tried before it gave up. */
    readonly rounds: number,
  ) {
    super('the units to delete')
    this.message = `Deleting work units gave up after ${rounds} rounds: each time, another writer held an attempt made on a selected unit since its attempts were locked; nothing was deleted`
  }
}

/** A guarded write found the row at another version than the one it read. */
export class VersionConflictError extends CoordinateError {
  constructor(
    readonly expected: number,
    readonly actual: number | null,
  ) {
    super('VERSION_CONFLICT', `expected version ${expected}, found ${actual ?? 'none'}`)
  }
}

/** The Coordinate was closed; no further calls are served. */
export class ClosedError extends CoordinateError {
  constructor() {
    super('CLOSED', 'Coordinate is closed')
  }
}

/** Who holds an embedded database's data directory, as its lock file says. */
export interface DataDirHolder {
  pid: number
  host: string
  /** When the holder took the lock (ISO 8601). */
  startedAt: string
}

/** Another Coordinate (in this process or another) has the embedded database's data directory open. */
export class DataDirLockedError extends CoordinateError {
  constructor(
    readonly directory: string,
    readonly holder: DataDirHolder | undefined,
  ) {
    const who = holder === undefined ? 'another process (its lock file is unreadable)' : `process ${holder.pid} on ${holder.host} since ${holder.startedAt}`
    super('DATA_DIR_LOCKED', `Data directory ${directory} is in use by ${who}; PGlite allows one process per directory`)
  }
}

/**
 * The database could not be reached, or the connection dropped during the request. `applied`
 * says what is known of the request's effect: 'no' (it never reached the database, or rolled
 * back: safe to repeat) or 'unknown' (a write whose commit may or may not have happened: check
 * before repeating it).
 */
export class DatabaseUnavailableError extends CoordinateError {
  constructor(
    readonly applied: 'no' | 'unknown',
    readonly reason: string,
  ) {
    const effect = applied === 'no' ? 'the request was not applied; try again' : 'the request may or may not have been applied; check before repeating it'
    super('DATABASE_UNAVAILABLE', `Database unavailable (${reason}): ${effect}`)
  }

  /** The same error for a remote caller: the connection error's own text may name the database host, so it stays in the server's log. */
  forRemoteCaller(): DatabaseUnavailableError {
    return new DatabaseUnavailableError(this.applied, 'see the server log')
  }
}

// The codes of LostLeaseError, NotPendingError and GoneError. Matched by code rather than by
// class so errors rebuilt by a remote client (REST) count too.
const LEASE_GONE_CODES = new Set(['LOST_LEASE', 'NOT_PENDING', 'GONE'])

/** Tells whether an error from renewing or completing an attempt means it is no longer the caller's to write. */
export function isLeaseGone(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code
  return typeof code === 'string' && LEASE_GONE_CODES.has(code)
}
