import { toCborValue } from '../coordinate/cbor-value.js'
import { UnsendableValueError } from './errors.js'

/** A result or request ready for cbor-x (see toCborValue); values the wire cannot carry throw UnsendableValueError. */
export function toWireValue(value: unknown, maxDepth = 512): unknown {
  return toCborValue(value, maxDepth, (message) => new UnsendableValueError(message))
}
