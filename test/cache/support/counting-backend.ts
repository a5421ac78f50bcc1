import type { Coordinate } from '../../../src/coordinate/api.js'

/** Called around every backend call; a returned promise holds the call (before) or its result (after) until it settles. */
export type CallHook = (call: string, args: readonly unknown[]) => Promise<void> | void

/** Counts of backend calls by "Interface.method" (Coordinate.namespace, WorkSpec.workUnitSnapshots, …). */
export class CallLog {
  readonly #counts = new Map<string, number>()
  readonly #args = new Map<string, unknown[][]>()
  /** Runs before each call; may hold it or make it fail. */
  before: CallHook | undefined
  /** Runs after each call succeeded, before its result is returned; may hold or fail it. */
  after: CallHook | undefined

  /** Records one call. */
  record(call: string, args: readonly unknown[]): void {
    this.#counts.set(call, (this.#counts.get(call) ?? 0) + 1)
    const list = this.#args.get(call) ?? []
    list.push([...args])
    this.#args.set(call, list)
  }

  /** How many calls of this method (or of every method, with no argument) since the last reset. */
  count(call?: string): number {
    if (call !== undefined) return this.#counts.get(call) ?? 0
    let total = 0
    for (const n of this.#counts.values()) total += n
    return total
  }

  /** The arguments of each call of this method since the last reset. */
  args(call: string): unknown[][] {
    return this.#args.get(call) ?? []
  }

  /** Every method called since the last reset, with its count. */
  snapshot(): Record<string, number> {
    return Object.fromEntries(this.#counts)
  }

  /** Starts counting from zero (hooks stay). */
  reset(): void {
    this.#counts.clear()
    this.#args.clear()
  }
}

const HANDLE_PREFIX = 'Postgres'

function isHandle(value: unknown): value is object {
  return typeof value === 'object' && value !== null && (value.constructor?.name ?? '').startsWith(HANDLE_PREFIX)
}

/**
 * Wraps a backend Coordinate so that every call on it and on every handle it returns (specs,
 * units, workers, attempts) is counted, and can be held or failed by the log's hooks. Calls run
 * on the real handles, so the backend's own type and identity checks still pass.
 */
export function countingBackend<C extends Coordinate>(backend: C): { coordinate: C; log: CallLog } {
  const log = new CallLog()
  const wrapped = new WeakMap<object, object>()

  const wrap = <T>(value: T): T => {
    if (Array.isArray(value)) return value.map(wrap) as T
    if (!isHandle(value)) return value
    const known = wrapped.get(value)
    if (known !== undefined) return known as T
    const kind = value.constructor.name.slice(HANDLE_PREFIX.length)
    const proxy = new Proxy(value, {
      get(target, prop) {
        const member: unknown = Reflect.get(target, prop, target)
        if (typeof member !== 'function') return wrap(member)
        if (prop === 'constructor' || prop === 'changes' || typeof prop === 'symbol') return member.bind(target)
        const call = `${kind}.${prop}`
        return (...args: unknown[]) => {
          log.record(call, args)
          const run = (): unknown => {
            const result: unknown = (member as (...a: unknown[]) => unknown).apply(target, args)
            if (!(result instanceof Promise)) return wrap(result)
            return result.then(async (resolved: unknown) => {
              await log.after?.(call, args)
              return wrap(resolved)
            })
          }
          const held = log.before?.(call, args)
          return held instanceof Promise ? held.then(run) : run()
        }
      },
    })
    wrapped.set(value, proxy)
    return proxy as T
  }

  return { coordinate: wrap(backend), log }
}

/** A promise with its resolve and reject in reach. */
export interface Deferred<T = void> {
  promise: Promise<T>
  resolve: (value: T) => void
  reject: (reason: unknown) => void
}

/** Makes a Deferred. */
export function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  let reject!: (reason: unknown) => void
  const promise = new Promise<T>((res, rej) => {
    resolve = res
    reject = rej
  })
  return { promise, resolve, reject }
}
