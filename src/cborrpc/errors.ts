import type { DataValue } from '../coordinate/data.js'

/** Why a byte stream stopped being readable as CBOR items. */
export type FramingProblem = 'too-large' | 'too-deep' | 'malformed'

/**
 * The stream cannot be followed any further: the end of the current item is unknown, so nothing
 * after it can be read, and the only safe move is to close the connection.
 */
export class FramingError extends Error {
  constructor(readonly problem: FramingProblem, message: string) {
    super(message)
    this.name = 'FramingError'
  }
}

/**
 * A complete item was read but it is not a usable message. The stream is still in step, so the
 * peer can be answered; `id` is the request id when it could be read, null otherwise.
 */
export class MessageError extends Error {
  constructor(message: string, readonly id: DataValue = null) {
    super(message)
    this.name = 'MessageError'
  }

  /** The same complaint, now that the request id is known. */
  withId(id: DataValue): MessageError {
    return new MessageError(this.message, id)
  }
}

/** A message used a CBOR tag outside the few the protocol allows (24, 37, 128, and bignums 2 and 3). */
export class UnknownTagError extends MessageError {
  constructor(readonly tag: number, readonly where: string, id: DataValue = null) {
    super(`unsupported CBOR tag ${tag} in ${where}`, id)
    this.name = 'UnknownTagError'
  }

  override withId(id: DataValue): UnknownTagError {
    return new UnknownTagError(this.tag, this.where, id)
  }
}

/** A value handed to the encoder cannot go on the wire without breaking the Python client. */
export class UnsendableValueError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'UnsendableValueError'
  }
}
