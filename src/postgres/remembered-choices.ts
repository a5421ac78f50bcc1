import { LRUCache } from 'lru-cache'
import type { AttemptRequest } from '../coordinate/api.js'
import type { WorkSpecMeta } from '../coordinate/work-spec-meta.js'

/** The namespace's specs as of a scheduler run: how many, and the newest row version among them. */
export interface SpecsFingerprint {
  count: string
  version: string
}

/** A spec the scheduler chose from meta alone, with the meta and the specs it saw then. */
export interface RememberedChoice {
  id: string
  name: string
  meta: WorkSpecMeta
  fingerprint: SpecsFingerprint
}

/**
 * Scheduler choices that meta alone decided (isForcedChoice), per namespace and request shape.
 * The next such request claims from the remembered spec in one round trip; the claim itself
 * checks the fingerprint, so a changed, added or deleted spec anywhere in the namespace sends
 * the request back through the scheduler. Only a hint: losing an entry costs one query.
 */
export class RememberedChoices {
  readonly #choices = new LRUCache<string, RememberedChoice>({ max: 1000 })

  /** The remembered choice for this request in this namespace, if any. */
  get(namespaceId: string, request: AttemptRequest): RememberedChoice | undefined {
    return this.#choices.get(requestShape(namespaceId, request))
  }

  /** Remembers a forced choice, or forgets the old one when `choice` is undefined. */
  set(namespaceId: string, request: AttemptRequest, choice: RememberedChoice | undefined): void {
    const key = requestShape(namespaceId, request)
    if (choice) this.#choices.set(key, choice)
    else this.#choices.delete(key)
  }
}

// Everything that decides which spec a request may get; counts and lease length do not.
function requestShape(namespaceId: string, request: AttemptRequest): string {
  return JSON.stringify([namespaceId, request.workSpecs ?? [], request.runtimes ?? [], request.availableGb ?? null])
}
