import type { Namespace } from '../coordinate/api.js'
import { DatabaseUnavailableError } from '../coordinate/errors.js'
import type { Clock } from '../coordinate/clock.js'
import type { DataDict } from '../coordinate/data.js'
import type { RpcHandler } from '../cborrpc/server.js'
import type { JobServerContext, JobServerMethod, MethodTable } from './method.js'
import { workMethods } from './work.js'
import { workSpecMethods } from './work-specs.js'
import { workUnitMethods } from './work-units.js'
import { workerMethods } from './workers.js'

/** What a JobServer serves and how. */
export interface JobServerOptions {
  /** The namespace served; the daemon serves "", the only one the Python client can reach. */
  readonly namespace: Namespace
  /** The daemon's configuration, returned by get_config (an empty map when not given). */
  readonly config?: DataDict
  /** Where time comes from; the Coordinate's clock. */
  readonly clock: Clock
  /** @internal Extra methods served beside the JobQueue ones (the lock methods); a name may not clash. */
  readonly lockMethods?: MethodTable
}

/**
 * Python Coordinate's JobQueue over a Coordinate namespace: dispatches CBOR-RPC requests by
 * method name. Plug `handler` into a CborRpcServer.
 *
 * @example
 * const jobs = new JobServer({ namespace: await coordinate.namespace(''), clock: systemClock })
 * await new CborRpcServer(jobs.handler, { port: 5932 }).listen()
 */
export class JobServer {
  /** Serves one request; unknown methods and wrong parameter counts are errors, never crashes. */
  readonly handler: RpcHandler
  readonly #methods: ReadonlyMap<string, JobServerMethod>

  constructor(options: JobServerOptions) {
    const context: JobServerContext = { namespace: options.namespace, clock: options.clock, config: options.config ?? {} }
    const methods = new Map<string, JobServerMethod>()
    const groups = [workSpecMethods(context), workUnitMethods(context), workMethods(context), workerMethods(context), options.lockMethods ?? {}]
    for (const group of groups) {
      for (const [name, entry] of Object.entries(group)) {
        if (methods.has(name)) throw new Error(`jobserver method ${name} is defined twice`)
        methods.set(name, entry)
      }
    }
    this.#methods = methods
    this.handler = (method, params, request) => this.#dispatch(method, params, request)
  }

  /** The names of every method served, sorted. */
  get methodNames(): string[] {
    return [...this.#methods.keys()].sort()
  }

  async #dispatch(name: string, params: unknown[], request: { connectionId: number }): Promise<unknown> {
    // A Map, not an object lookup: "constructor" or "__proto__" must not resolve to anything.
    const entry = this.#methods.get(name)
    if (!entry) throw new Error(`no such method ${name}`)
    const [min, max] = typeof entry.arity === 'number' ? [entry.arity, entry.arity] : entry.arity
    if (params.length < min || params.length > max) throw new Error(`wrong number of parameters for ${name}`)
    try {
      return await entry.call(params, request)
    } catch (error) {
      if (error instanceof DatabaseUnavailableError) throw error.forRemoteCaller()
      throw error
    }
  }
}
