import { type CoordinateErrorCode, errorValue, isCoordinateErrorCode, rebuildError } from '../coordinate/error-codes.js'
import { CoordinateError, DatabaseUnavailableError, GoneError, InvalidInputError } from '../coordinate/errors.js'

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

// Every code of the error table has a status here: the type makes a new code a compile error
// until it has one.
const STATUS_OF_CODE: Record<CoordinateErrorCode, number> = {
  NO_SUCH_WORK_SPEC: 404,
  NO_SUCH_WORK_UNIT: 404,
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
  DATA_DIR_LOCKED: 503,
  DATABASE_UNAVAILABLE: 503,
}

/** The status and body answering a thrown error; anything unexpected is a 500 without details. */
export function errorResponse(error: unknown): { statusCode: number; body: ErrorBody } {
  if (error instanceof HttpError) {
    return { statusCode: error.statusCode, body: withValue({ error: error.code, message: error.message }, error.value) }
  }
  if (error instanceof NoSuchAttemptError) {
    return { statusCode: 404, body: { error: 'NO_SUCH_ATTEMPT', message: error.message, value: error.attemptId } }
  }
  if (error instanceof DatabaseUnavailableError) error = error.forRemoteCaller()
  if (error instanceof CoordinateError && isCoordinateErrorCode(error.code)) {
    return { statusCode: STATUS_OF_CODE[error.code], body: withValue({ error: error.code, message: error.message }, errorValue(error)) }
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
  // Codes of the HTTP layer's own: an attempt addressed by id, and a request it could not parse.
  if (code === 'NO_SUCH_ATTEMPT') return new NoSuchAttemptError(typeof value === 'string' ? value : '')
  if (code === 'BAD_REQUEST') return new InvalidInputError(message)
  return rebuildError(code, message, value) ?? new HttpError(statusCode, code, message, value)
}

function isErrorBody(body: unknown): body is ErrorBody {
  return typeof body === 'object' && body !== null && typeof (body as ErrorBody).error === 'string' && typeof (body as ErrorBody).message === 'string'
}
