import {
  BadWorkSpecNameError,
  ChangedNameError,
  ClosedError,
  ConflictError,
  CoordinateError,
  GoneError,
  InvalidInputError,
  LostLeaseError,
  NoSuchWorkSpecError,
  NoSuchWorkUnitError,
  NoWorkSpecNameError,
  NotPendingError,
  VersionConflictError,
  WrongBackendError,
} from '../coordinate/errors.js'

/** The JSON body of every error answer. */
export interface ErrorBody {
  error: string
  message: string
  value?: unknown
}

/** An HTTP-level refusal (auth, routing, media types, limits) with its status and error code. */
export class HttpError extends CoordinateError {
  constructor(
    readonly statusCode: number,
    code: string,
    message: string,
    readonly value?: unknown,
  ) {
    super(code, message)
  }
}

/** A coordinate attempt addressed by id does not exist (or is not under the addressed unit). */
export class NoSuchAttemptError extends GoneError {
  constructor(readonly attemptId: string) {
    super('Attempt')
    this.message = `No such attempt ${attemptId}`
  }
}

const STATUS_OF_CODE: Record<string, number> = {
  NO_SUCH_WORK_SPEC: 404,
  NO_SUCH_WORK_UNIT: 404,
  NO_SUCH_ATTEMPT: 404,
  GONE: 410,
  NO_WORK_SPEC_NAME: 400,
  BAD_WORK_SPEC_NAME: 400,
  CHANGED_NAME: 400,
  INVALID_INPUT: 400,
  WRONG_BACKEND: 400,
  NOT_PENDING: 409,
  LOST_LEASE: 409,
  VERSION_CONFLICT: 409,
  CONFLICT: 409,
  CLOSED: 503,
}

/** The status and body answering a thrown error; anything unexpected is a 500 without details. */
export function errorResponse(error: unknown): { statusCode: number; body: ErrorBody } {
  if (error instanceof HttpError) {
    return { statusCode: error.statusCode, body: withValue({ error: error.code, message: error.message }, error.value) }
  }
  if (error instanceof NoSuchAttemptError) {
    return { statusCode: 404, body: { error: 'NO_SUCH_ATTEMPT', message: error.message, value: error.attemptId } }
  }
  if (error instanceof CoordinateError && error.code in STATUS_OF_CODE) {
    const body: ErrorBody = { error: error.code, message: error.message }
    if (error instanceof NoSuchWorkSpecError) body.value = error.workSpecName
    if (error instanceof NoSuchWorkUnitError) body.value = error.workUnitName
    if (error instanceof VersionConflictError) body.value = { expected: error.expected, actual: error.actual }
    return { statusCode: STATUS_OF_CODE[error.code] ?? 500, body }
  }
  return { statusCode: 500, body: { error: 'INTERNAL', message: 'internal error; see the server log' } }
}

function withValue(body: ErrorBody, value: unknown): ErrorBody {
  if (value !== undefined) body.value = value
  return body
}

/** Rebuilds the typed error an error body stands for (the inverse of errorResponse). */
export function errorFromBody(statusCode: number, body: unknown): Error {
  if (!isErrorBody(body)) return new HttpError(statusCode, 'HTTP', `HTTP ${statusCode} without an error body`)
  const { error: code, message, value } = body
  switch (code) {
    case 'NO_SUCH_WORK_SPEC':
      return new NoSuchWorkSpecError(typeof value === 'string' ? value : '')
    case 'NO_SUCH_WORK_UNIT':
      return new NoSuchWorkUnitError(typeof value === 'string' ? value : '')
    case 'NO_SUCH_ATTEMPT':
      return new NoSuchAttemptError(typeof value === 'string' ? value : '')
    case 'GONE':
      return withMessage(new GoneError(), message)
    case 'NO_WORK_SPEC_NAME':
      return new NoWorkSpecNameError()
    case 'BAD_WORK_SPEC_NAME':
      return new BadWorkSpecNameError()
    case 'CHANGED_NAME':
      return new ChangedNameError()
    case 'INVALID_INPUT':
    case 'BAD_REQUEST':
      return new InvalidInputError(message)
    case 'NOT_PENDING':
      return new NotPendingError()
    case 'LOST_LEASE':
      return new LostLeaseError()
    case 'VERSION_CONFLICT': {
      const v = (value ?? {}) as { expected?: unknown; actual?: unknown }
      return new VersionConflictError(Number(v.expected), typeof v.actual === 'number' ? v.actual : null)
    }
    case 'CONFLICT':
      return withMessage(new ConflictError(''), message)
    case 'WRONG_BACKEND':
      return new WrongBackendError()
    case 'CLOSED':
      return new ClosedError()
    default:
      return new HttpError(statusCode, code, message, value)
  }
}

function withMessage<E extends Error>(error: E, message: string): E {
  error.message = message
  return error
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as ErrorBody).error === 'string' && typeof (body as ErrorBody).message === 'string'
}
