import type { Attempt, AttemptRequest, VersionGuard, WorkUnit, Worker, WorkerUpdate } from '../../coordinate/api.js'
import type { DataDict } from '../../coordinate/data.js'
import { InvalidInputError, WrongBackendError } from '../../coordinate/errors.js'
import { dataFromJson } from '../data-json.js'
import { encodeName } from '../names.js'
import { urls } from '../urls.js'
import { obj, requiredTime } from './json-in.js'
import { attemptFromJson, claimedAttemptFromJson } from './rest-attempt.js'
import type { RestNamespace } from './rest-namespace.js'
import { RestWorkUnit } from './rest-work-unit.js'
import { finite, optionalDataOut, timeOut } from './request-out.js'

/** A worker on the server, by name. */
export class RestWorker implements Worker {
  constructor(
    readonly namespace: RestNamespace,
    readonly name: string,
  ) {}

  /** @internal The worker's URL path. */
  get url(): string {
    return urls.worker(this.namespace.name, this.name)
  }

  get #transport(): RestNamespace['transport'] {
    return this.namespace.transport
  }

  async #get(): Promise<Record<string, unknown>> {
    return obj(await this.#transport.call('GET', this.url))
  }

  /** The parent worker, or null. */
  async parent(): Promise<Worker | null> {
    const parent = (await this.#get()).parent
    return typeof parent === 'string' ? new RestWorker(this.namespace, parent) : null
  }

  /** Sets or (with null) clears the parent. */
  async setParent(parent: Worker | null): Promise<void> {
    if (parent !== null && !(parent instanceof RestWorker && parent.namespace.coordinate === this.namespace.coordinate)) throw new WrongBackendError()
    await this.#transport.call('PUT', this.url, { body: { parent: parent?.name ?? null } })
  }

  /** The workers whose parent this is. */
  async children(): Promise<Worker[]> {
    return ((await this.#get()).children as string[]).map((name) => new RestWorker(this.namespace, name))
  }

  async active(): Promise<boolean> {
    return (await this.#get()).active === true
  }

  async deactivate(): Promise<void> {
    await this.#transport.call('PUT', this.url, { body: { active: false } })
  }

  async mode(): Promise<string> {
    return String((await this.#get()).mode)
  }

  async data(): Promise<DataDict> {
    return dataFromJson((await this.#get()).data)
  }

  async expiration(): Promise<Date> {
    return requiredTime((await this.#get()).expiration, 'expiration')
  }

  async lastUpdate(): Promise<Date> {
    return requiredTime((await this.#get()).last_update, 'last_update')
  }

  /** Records a heartbeat and marks the worker active. */
  async update(update: WorkerUpdate): Promise<void> {
    if (update === null || typeof update !== 'object') throw new InvalidInputError('a worker update must be an object')
    const body: Record<string, unknown> = { active: true, data: optionalDataOut(update.data) }
    if (update.now !== undefined) body.last_update = timeOut(update.now, 'now')
    if (update.expiration !== undefined) body.expiration = timeOut(update.expiration, 'expiration')
    if (update.mode !== undefined) body.mode = update.mode
    await this.#transport.call('PUT', this.url, { body })
  }

  /** Asks the scheduler for work. */
  async requestAttempts(request: AttemptRequest = {}): Promise<Attempt[]> {
    const body: Record<string, unknown> = {}
    if (request.availableGb !== undefined) body.available_gb = finite(request.availableGb, 'availableGb')
    if (request.lifetimeMs !== undefined) body.lifetime_ms = finite(request.lifetimeMs, 'lifetimeMs')
    if (request.numberOfWorkUnits !== undefined) body.number_of_work_units = finite(request.numberOfWorkUnits, 'numberOfWorkUnits')
    if (request.workSpecs !== undefined) body.work_specs = request.workSpecs
    if (request.runtimes !== undefined) body.runtimes = request.runtimes
    const answer = obj(await this.#transport.call('POST', `${this.url}/request_attempts`, { body }))
    return (answer.attempts as unknown[]).map((a) => claimedAttemptFromJson(this.namespace, a))
  }

  /** Starts an attempt on a unit whatever its state, or only at `guard.ifVersion`. */
  async makeAttempt(unit: WorkUnit, lifetimeMs?: number, guard?: VersionGuard): Promise<Attempt> {
    if (!(unit instanceof RestWorkUnit) || unit.workSpec.namespace.coordinate !== this.namespace.coordinate) throw new WrongBackendError()
    const body: Record<string, unknown> = { work_spec: unit.workSpec.name, work_unit: encodeName(unit.key) }
    if (lifetimeMs !== undefined) body.lifetime_ms = finite(lifetimeMs, 'lifetimeMs')
    if (guard?.ifVersion !== undefined) body.if_version = guard.ifVersion
    return attemptFromJson(this.namespace, await this.#transport.call('POST', `${this.url}/make_attempt`, { body }), unit)
  }

  async activeAttempts(): Promise<Attempt[]> {
    return this.#attempts('active_attempts')
  }

  async allAttempts(): Promise<Attempt[]> {
    return this.#attempts('all_attempts')
  }

  async childAttempts(): Promise<Attempt[]> {
    return this.#attempts('child_attempts')
  }

  async #attempts(path: string): Promise<Attempt[]> {
    const answer = obj(await this.#transport.call('GET', `${this.url}/${path}`))
    return (answer.attempts as unknown[]).map((a) => attemptFromJson(this.namespace, a))
  }
}
