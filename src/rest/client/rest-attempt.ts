import type { Attempt } from '../../coordinate/api.js'
import { ClaimData } from '../../coordinate/claim-data.js'
import type { DataDict } from '../../coordinate/data.js'
import type { AttemptStatus } from '../../coordinate/status.js'
import { dataFromJson } from '../data-json.js'
import { decodeKey } from '../names.js'
import { urls } from '../urls.js'
import { obj, requiredTime, time } from './json-in.js'
import type { RestNamespace } from './rest-namespace.js'
import { RestWorkSpec } from './rest-work-spec.js'
import { RestWorkUnit } from './rest-work-unit.js'
import { RestWorker } from './rest-worker.js'
import { finite, optionalDataOut } from './request-out.js'

/** An attempt on the server, by id. */
export class RestAttempt implements Attempt {
  readonly #claim: ClaimData

  constructor(
    readonly id: string,
    readonly workUnit: RestWorkUnit,
    readonly worker: RestWorker,
    /** The unit's data as request_attempts answered it; see Attempt.takeClaimData. */
    claimData?: DataDict,
  ) {
    this.#claim = new ClaimData(claimData)
  }

  /** The claim's data, once; see Attempt.takeClaimData. */
  takeClaimData(): DataDict | undefined {
    return this.#claim.take()
  }

  /** @internal The attempt's URL path. */
  get url(): string {
    const unit = this.workUnit
    return urls.attempt(unit.workSpec.namespace.name, unit.workSpec.name, unit.key, this.id)
  }

  get #transport(): RestNamespace['transport'] {
    return this.worker.namespace.transport
  }

  async #get(): Promise<Record<string, unknown>> {
    return obj(await this.#transport.call('GET', this.url))
  }

  /** The status now. */
  async status(): Promise<AttemptStatus> {
    return (await this.#get()).status as AttemptStatus
  }

  /** The attempt's data. */
  async data(): Promise<DataDict> {
    return dataFromJson((await this.#get()).data)
  }

  /** When the attempt began. */
  async startTime(): Promise<Date> {
    return requiredTime((await this.#get()).start_time, 'start_time')
  }

  /** When it ended, or null. */
  async endTime(): Promise<Date | null> {
    return time((await this.#get()).end_time, 'end_time')
  }

  /** When its lease ends. */
  async expirationTime(): Promise<Date> {
    return requiredTime((await this.#get()).expiration_time, 'expiration_time')
  }

  /** Extends the lease to now + extendMs. */
  async renew(extendMs: number, data?: DataDict): Promise<void> {
    await this.#post('renew', { extend_ms: finite(extendMs, 'extendMs'), data: optionalDataOut(data) })
  }

  /** Gives the unit up. */
  async expire(data?: DataDict): Promise<void> {
    await this.#post('expire', { data: optionalDataOut(data) })
  }

  /** Finishes the unit. */
  async finish(data?: DataDict): Promise<void> {
    await this.#post('finish', { data: optionalDataOut(data) })
  }

  /** Fails the unit. */
  async fail(data?: DataDict): Promise<void> {
    await this.#post('fail', { data: optionalDataOut(data) })
  }

  /** Gives the unit up to be retried no sooner than delayMs from now. */
  async retry(data?: DataDict, delayMs?: number): Promise<void> {
    await this.#post('retry', { data: optionalDataOut(data), delay_ms: delayMs === undefined ? undefined : finite(delayMs, 'delayMs') })
  }

  async #post(action: string, body: Record<string, unknown>): Promise<void> {
    await this.#transport.call('POST', `${this.url}/${action}`, { body })
  }
}

/** An attempt handle from the server's Attempt JSON (full or short); `unit` is reused when it is the attempt's. */
export function attemptFromJson(ns: RestNamespace, value: unknown, unit?: RestWorkUnit): RestAttempt {
  return attemptOf(ns, obj(value), unit, undefined)
}

/** An attempt handle from one attempt of a request_attempts answer, whose `data` (absent from older servers) is the claim's data. */
export function claimedAttemptFromJson(ns: RestNamespace, value: unknown): RestAttempt {
  const a = obj(value)
  return attemptOf(ns, a, undefined, a.data === undefined ? undefined : dataFromJson(a.data))
}

function attemptOf(ns: RestNamespace, a: Record<string, unknown>, unit: RestWorkUnit | undefined, claimData: DataDict | undefined): RestAttempt {
  const key = decodeKey(String(a.work_unit))
  const specName = String(a.work_spec)
  const workUnit =
    unit !== undefined && unit.workSpec.name === specName && Buffer.compare(unit.key, key) === 0 ? unit : new RestWorkUnit(new RestWorkSpec(ns, specName), key)
  return new RestAttempt(String(a.id), workUnit, new RestWorker(ns, String(a.worker)), claimData)
}
