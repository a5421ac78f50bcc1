import { LRUCache } from 'lru-cache'
import type { Attempt, Coordinate, Namespace, WorkSpec, WorkUnit, Worker } from '../coordinate/api.js'
import { workUnitKeyId } from '../coordinate/data.js'
import { NoSuchAttemptError } from './errors.js'
import { decodeKey, decodeName } from './names.js'

/** Path parameters of the API's routes, still encoded. */
export interface PathParams {
  ns?: string
  spec?: string
  unit?: string
  worker?: string
  attempt?: string
}

// Attempts handed out recently, by id: finishing a claimed attempt then needs no scan of its
// unit's attempts. A few thousand covers every lease a busy daemon holds.
const RECENT_ATTEMPTS = 20_000

/** Turns encoded path parameters into the Coordinate's objects. */
export class Resolver {
  readonly #coordinate: Coordinate
  readonly #recent = new LRUCache<string, Attempt>({ max: RECENT_ATTEMPTS })

  constructor(coordinate: Coordinate) {
    this.#coordinate = coordinate
  }

  /** The name `params.ns` encodes, for a route that must judge its input before the lookup creates the namespace. */
  namespaceName(params: PathParams): string {
    return decodeName(params.ns ?? '', 'namespace name')
  }

  /** The namespace named by `params.ns` (created if missing, as Coordinate.namespace does). */
  namespace(params: PathParams): Promise<Namespace> {
    return this.#coordinate.namespace(this.namespaceName(params))
  }

  /** The work spec named by `params.spec`. */
  async workSpec(params: PathParams): Promise<WorkSpec> {
    const name = decodeName(params.spec ?? '', 'work spec name')
    return (await this.namespace(params)).workSpec(name)
  }

  /** The work unit keyed by `params.unit`. */
  async workUnit(params: PathParams): Promise<WorkUnit> {
    const key = decodeKey(params.unit ?? '', 'work unit key')
    return (await this.workSpec(params)).workUnit(key)
  }

  /** The worker named by `params.worker` (created if missing). */
  async worker(params: PathParams): Promise<Worker> {
    const name = decodeName(params.worker ?? '', 'worker name')
    return (await this.namespace(params)).worker(name)
  }

  /** Who the attempt `params` names, decoded as attempt() decodes it: equal for every spelling of one attempt's path. */
  attemptIdentity(params: PathParams): string {
    const { id, ns, spec, key } = this.#attemptParts(params)
    return JSON.stringify([ns, spec, workUnitKeyId(key), id])
  }

  /** The attempt `params.attempt` of the unit the path names; NoSuchAttemptError if it is not one of its attempts. */
  async attempt(params: PathParams): Promise<Attempt> {
    const { id, ns, spec, key } = this.#attemptParts(params)
    const known = this.#recent.get(id)
    if (known !== undefined && isUnder(known, ns, spec, key)) return known
    const unit = await this.workUnit(params)
    const found = (await unit.attempts()).find((a) => a.id === id)
    if (found === undefined) throw new NoSuchAttemptError(id)
    return this.remember(found)
  }

  // The decoded parts of an attempt's path; the id first, so a path bad in several parts names the id.
  #attemptParts(params: PathParams): { id: string; ns: string; spec: string; key: Uint8Array } {
    return {
      id: decodeName(params.attempt ?? '', 'attempt id'),
      ns: this.namespaceName(params),
      spec: decodeName(params.spec ?? '', 'work spec name'),
      key: decodeKey(params.unit ?? '', 'work unit key'),
    }
  }

  /** Keeps an attempt the API handed out, so requests on it find it without a scan. */
  remember(attempt: Attempt): Attempt {
    this.#recent.set(attempt.id, attempt)
    return attempt
  }
}

function isUnder(attempt: Attempt, ns: string, spec: string, key: Uint8Array): boolean {
  const unit = attempt.workUnit
  return unit.workSpec.namespace.name === ns && unit.workSpec.name === spec && Buffer.compare(unit.key, key) === 0
}
