import type { AttemptCompletion, AttemptRenewal, Namespace, RenewalOutcome, SummaryRecord, WorkSpec, Worker } from '../../coordinate/api.js'
import type { DataDict } from '../../coordinate/data.js'
import { InvalidInputError, WrongBackendError } from '../../coordinate/errors.js'
import { urls } from '../urls.js'
import { obj, summaryFromJson } from './json-in.js'
import { RestAttempt } from './rest-attempt.js'
import type { RestCoordinate } from './rest-coordinate.js'
import { dataOut, finite, optionalDataOut } from './request-out.js'
import { RestWorkSpec } from './rest-work-spec.js'
import { RestWorker } from './rest-worker.js'

const RENEWAL_OUTCOMES: ReadonlySet<unknown> = new Set<RenewalOutcome>(['renewed', 'lost-lease', 'not-pending', 'gone'])

function isRenewalOutcome(value: unknown): value is RenewalOutcome {
  return RENEWAL_OUTCOMES.has(value)
}

// Workers listed per request; the server's largest page.
const WORKER_PAGE = 10_000

/** A namespace on the server, by name. */
export class RestNamespace implements Namespace {
  constructor(
    /** @internal */ readonly coordinate: RestCoordinate,
    readonly name: string,
  ) {}

  /** @internal The namespace's URL path. */
  get url(): string {
    return urls.namespace(this.name)
  }

  /** @internal */
  get transport(): RestCoordinate['transport'] {
    return this.coordinate.transport
  }

  /** Deletes the namespace and everything in it. */
  async destroy(): Promise<void> {
    await this.transport.call('DELETE', this.url)
  }

  /** Creates or replaces the spec named by `data.name`. */
  async setWorkSpec(data: DataDict): Promise<WorkSpec> {
    const answer = obj(await this.transport.call('POST', urls.workSpecs(this.name), { body: { data: dataOut(data, 'work spec') } }))
    return new RestWorkSpec(this, String(answer.name))
  }

  /** The spec with this name; NoSuchWorkSpecError if there is none. */
  async workSpec(name: string): Promise<WorkSpec> {
    if (typeof name !== 'string') throw new InvalidInputError('a work spec name must be a string')
    await this.transport.call('GET', `${urls.workSpec(this.name, name)}/snapshot`)
    return new RestWorkSpec(this, name)
  }

  /** Deletes a spec with its units. */
  async destroyWorkSpec(name: string): Promise<void> {
    if (typeof name !== 'string') throw new InvalidInputError('a work spec name must be a string')
    await this.transport.call('DELETE', urls.workSpec(this.name, name))
  }

  /** Every spec name, sorted. */
  async workSpecNames(): Promise<string[]> {
    const answer = obj(await this.transport.call('GET', urls.workSpecs(this.name)))
    return (answer.work_specs as { name: string }[]).map((s) => s.name)
  }

  /** The worker with this name, created if needed. */
  async worker(name: string): Promise<Worker> {
    if (typeof name !== 'string') throw new InvalidInputError('a worker name must be a string')
    await this.transport.call('GET', urls.worker(this.name, name))
    return new RestWorker(this, name)
  }

  /** Every worker, sorted by name (fetched page by page). */
  async workers(): Promise<Worker[]> {
    const workers: Worker[] = []
    let previous: string | undefined
    for (;;) {
      const answer = obj(await this.transport.call('GET', urls.workers(this.name), { query: { limit: String(WORKER_PAGE), previous } }))
      for (const w of answer.workers as { name: string }[]) workers.push(new RestWorker(this, w.name))
      if (typeof answer.next !== 'string') return workers
      previous = answer.next
    }
  }

  /** Finishes or fails many attempts in one request. */
  async completeAttempts(completions: readonly AttemptCompletion[]): Promise<void> {
    if (!Array.isArray(completions)) throw new InvalidInputError('completions must be a list')
    if (completions.length === 0) return
    const body = completions.map((c) => ({ attempt_url: this.#attemptUrl(c.attempt), status: c.status, data: optionalDataOut(c.data) }))
    await this.transport.call('POST', `${this.url}/complete_attempts`, { body: { completions: body } })
  }

  /** Extends many leases in one request; one outcome per renewal, in order. */
  async renewAttempts(renewals: readonly AttemptRenewal[]): Promise<RenewalOutcome[]> {
    if (!Array.isArray(renewals)) throw new InvalidInputError('renewals must be a list')
    if (renewals.length === 0) return []
    const body = renewals.map((r) => ({
      attempt_url: this.#attemptUrl(r.attempt),
      extend_ms: finite(r.extendMs, 'extendMs'),
      data: optionalDataOut(r.data),
    }))
    const answer = obj(await this.transport.call('POST', `${this.url}/renew_attempts`, { body: { renewals: body } }))
    const outcomes = answer.outcomes
    if (!Array.isArray(outcomes) || outcomes.length !== renewals.length || !outcomes.every(isRenewalOutcome)) {
      throw new InvalidInputError('the server answered renew_attempts with no outcome per renewal')
    }
    return outcomes
  }

  // The URL of an attempt this client handed out; any other attempt belongs to another backend.
  #attemptUrl(attempt: unknown): string {
    if (!(attempt instanceof RestAttempt) || attempt.workUnit.workSpec.namespace.coordinate !== this.coordinate) throw new WrongBackendError()
    return attempt.url
  }

  /** Unit counts of this namespace. */
  async summarize(): Promise<SummaryRecord[]> {
    return summaryFromJson(await this.transport.call('GET', `${this.url}/summary`))
  }
}
