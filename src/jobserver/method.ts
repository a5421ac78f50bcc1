import type { Namespace } from '../coordinate/api.js'
import type { Clock } from '../coordinate/clock.js'
import type { DataDict } from '../coordinate/data.js'

/** What the transport tells a method about the call. */
export interface RequestContext {
  /** The CBOR-RPC connection the request came on (unique per server process). */
  readonly connectionId: number
}

/**
 * One RPC method. `params` are the decoded parameters (DataValues); the dispatcher has already
 * checked their count against `arity`. The returned value becomes `result`; a thrown error
 * becomes an error response carrying its message.
 */
export interface JobServerMethod {
  /** Exact parameter count, or the inclusive [min, max] range for methods with optional trailing parameters. */
  readonly arity: number | readonly [number, number]
  readonly call: (params: readonly unknown[], request: RequestContext) => Promise<unknown>
}

/** Methods by RPC name (snake_case, as the Python client sends them). */
export type MethodTable = Record<string, JobServerMethod>

/** What every group of methods works on. */
export interface JobServerContext {
  /** The namespace served (the daemon serves ""). */
  readonly namespace: Namespace
  /** The daemon's configuration, returned by get_config. */
  readonly config: DataDict
  readonly clock: Clock
}

/** Builds a method entry; keeps the group files to one line of ceremony per method. */
export function method(arity: JobServerMethod['arity'], call: JobServerMethod['call']): JobServerMethod {
  return { arity, call }
}

/** A `[value, message]` pair as Python's JobQueue returns it; the message is null on success. */
export type Pair<T> = [T, string | null]

/** The success pair `[value, null]`. */
export function ok<T>(value: T): Pair<T> {
  return [value, null]
}
