import {
  BadWorkSpecNameError,
  ChangedNameError,
  ClosedError,
  ConflictError,
  CoordinateError,
  type DataDirHolder,
  DataDirLockedError,
  DatabaseUnavailableError,
  DeletionConflictError,
  GoneError,
  InvalidInputError,
  LostLeaseError,
  NoSuchWorkSpecError,
  NoSuchWorkUnitError,
  NoWorkSpecNameError,
  NotPendingError,
  VersionConflictError,
  WrongBackendError,
} from './errors.js'

/**
 * How one error class crosses a process boundary: `value` is what it carries besides its message
 * (its constructor's arguments), `rebuild` makes the same class again from message and value.
 * A value from the wire is untrusted, so rebuild checks every field it uses.
 */
interface ErrorKind {
  value?(error: CoordinateError): unknown
  rebuild(message: string, value: unknown): CoordinateError
}

/**
 * Every error the API throws on purpose, by its stable code. The one table the wire formats
 * (the HTTP API's error bodies, its client) read, so a new error class is added here once.
 */
export const ERROR_KINDS = {
  NO_SUCH_WORK_SPEC: {
    value: (e) => (e as NoSuchWorkSpecError).workSpecName,
    rebuild: (_message, value) => new NoSuchWorkSpecError(text(value)),
  },
  NO_SUCH_WORK_UNIT: {
    value: (e) => (e as NoSuchWorkUnitError).workUnitName,
    rebuild: (_message, value) => new NoSuchWorkUnitError(text(value)),
  },
  GONE: { rebuild: (message) => withMessage(new GoneError(), message) },
  NO_WORK_SPEC_NAME: { rebuild: () => new NoWorkSpecNameError() },
  BAD_WORK_SPEC_NAME: { rebuild: () => new BadWorkSpecNameError() },
  CHANGED_NAME: { rebuild: () => new ChangedNameError() },
  INVALID_INPUT: { rebuild: (message) => new InvalidInputError(message) },
  WRONG_BACKEND: { rebuild: () => new WrongBackendError() },
  NOT_PENDING: { rebuild: () => new NotPendingError() },
  LOST_LEASE: { rebuild: () => new LostLeaseError() },
  VERSION_CONFLICT: {
    value: (e) => ({ expected: (e as VersionConflictError).expected, actual: (e as VersionConflictError).actual }),
    rebuild: (_message, value) => {
      const v = record(value)
      return new VersionConflictError(Number(v.expected), typeof v.actual === 'number' ? v.actual : null)
    },
  },
  // A deletion's give-up shares the code (a client retries both alike) and keeps its class by
  // carrying its rounds.
  CONFLICT: {
    value: (e) => (e instanceof DeletionConflictError ? { rounds: e.rounds } : undefined),
    rebuild: (message, value) => {
      const { rounds } = record(value)
      return typeof rounds === 'number' ? new DeletionConflictError(rounds) : withMessage(new ConflictError(''), message)
    },
  },
  CLOSED: { rebuild: () => new ClosedError() },
  DATA_DIR_LOCKED: {
    value: (e) => ({ directory: (e as DataDirLockedError).directory, holder: (e as DataDirLockedError).holder ?? null }),
    rebuild: (_message, value) => {
      const v = record(value)
      return new DataDirLockedError(text(v.directory), holderOf(v.holder))
    },
  },
  DATABASE_UNAVAILABLE: {
    value: (e) => ({ applied: (e as DatabaseUnavailableError).applied, reason: (e as DatabaseUnavailableError).reason }),
    rebuild: (_message, value) => {
      const v = record(value)
      // Anything but a definite 'no' may have been applied: the safe reading of a garbled value.
      return new DatabaseUnavailableError(v.applied === 'no' ? 'no' : 'unknown', text(v.reason))
    },
  },
} as const satisfies Record<string, ErrorKind>

/** The stable code of every error class in ERROR_KINDS. */
export type CoordinateErrorCode = keyof typeof ERROR_KINDS

/** True if `code` is one of ERROR_KINDS' codes. */
export function isCoordinateErrorCode(code: string): code is CoordinateErrorCode {
  return Object.hasOwn(ERROR_KINDS, code)
}

/** What an error carries besides its code and message, for a wire format to send along. */
export function errorValue(error: CoordinateError): unknown {
  if (!isCoordinateErrorCode(error.code)) return undefined
  const kind: ErrorKind = ERROR_KINDS[error.code]
  return kind.value?.(error)
}

/** The typed error a code, message and value from the wire stand for; undefined for an unknown code. */
export function rebuildError(code: string, message: string, value: unknown): CoordinateError | undefined {
  return isCoordinateErrorCode(code) ? ERROR_KINDS[code].rebuild(message, value) : undefined
}

function text(value: unknown): string {
  return typeof value === 'string' ? value : ''
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null ? (value as Record<string, unknown>) : {}
}

function holderOf(value: unknown): DataDirHolder | undefined {
  const v = record(value)
  if (typeof v.pid !== 'number' || typeof v.host !== 'string' || typeof v.startedAt !== 'string') return undefined
  return { pid: v.pid, host: v.host, startedAt: v.startedAt }
}

function withMessage<E extends Error>(error: E, message: string): E {
  error.message = message
  return error
}
