import type { Attempt, VersionGuard, WorkUnit, WorkUnitMeta } from '../../coordinate/api.js'
import { type DataDict, workUnitKeyName } from '../../coordinate/data.js'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import type { WorkUnitSnapshot } from '../../coordinate/work-unit-snapshot.js'
import { dataFromJson } from '../data-json.js'
import { urls } from '../urls.js'
import { obj, snapshotFromJson, time } from './json-in.js'
import { attemptFromJson } from './rest-attempt.js'
import type { RestWorkSpec } from './rest-work-spec.js'
import { dataOut, unitMetaOut } from './request-out.js'

/** A work unit on the server, by key. */
export class RestWorkUnit implements WorkUnit {
  readonly name: string

  constructor(
    readonly workSpec: RestWorkSpec,
    readonly key: Uint8Array,
  ) {
    this.name = workUnitKeyName(key)
  }

  /** @internal The unit's URL path. */
  get url(): string {
    return urls.workUnit(this.workSpec.namespace.name, this.workSpec.name, this.key)
  }

  get #transport(): RestWorkSpec['namespace']['transport'] {
    return this.workSpec.namespace.transport
  }

  async #get(): Promise<Record<string, unknown>> {
    return obj(await this.#transport.call('GET', this.url))
  }

  /** The effective data. */
  async data(): Promise<DataDict> {
    return dataFromJson((await this.#get()).data)
  }

  /** The status now. */
  async status(): Promise<WorkUnitStatus> {
    return (await this.#get()).status as WorkUnitStatus
  }

  /** Replaces the unit's own data; returns the new version. */
  async setData(data: DataDict, guard?: VersionGuard): Promise<number> {
    const body: Record<string, unknown> = { data: dataOut(data) }
    if (guard?.ifVersion !== undefined) body.if_version = guard.ifVersion
    return Number(obj(await this.#transport.call('PUT', `${this.url}/data`, { body })).version)
  }

  /** Everything about the unit in one read. */
  async snapshot(): Promise<WorkUnitSnapshot> {
    return snapshotFromJson(await this.#transport.call('GET', `${this.url}/snapshot`))
  }

  /** Priority and not-before. */
  async meta(): Promise<WorkUnitMeta> {
    const meta = obj((await this.#get()).meta)
    return { priority: Number(meta.priority), notBefore: time(meta.not_before, 'not_before') }
  }

  /** Changes priority and/or not-before. */
  async setMeta(meta: Partial<WorkUnitMeta>): Promise<void> {
    await this.#transport.call('PUT', this.url, { body: { meta: unitMetaOut(meta) ?? {} } })
  }

  /** The attempt that decides the unit's status, or null. */
  async activeAttempt(): Promise<Attempt | null> {
    const answer = await this.#transport.call('GET', `${this.url}/active_attempt`)
    return answer === undefined ? null : attemptFromJson(this.workSpec.namespace, answer, this)
  }

  /** Makes the unit available again. */
  async clearActiveAttempt(): Promise<void> {
    await this.#transport.call('PUT', this.url, { body: { active_attempt_url: '-' } })
  }

  /** Every attempt on this unit, oldest first. */
  async attempts(): Promise<Attempt[]> {
    const answer = obj(await this.#transport.call('GET', `${this.url}/attempts`))
    return (answer.attempts as unknown[]).map((a) => attemptFromJson(this.workSpec.namespace, a, this))
  }

  /** How many attempts this unit has had. */
  async numAttempts(): Promise<number> {
    return Number(await this.#transport.call('GET', `${this.url}/num-attempts`))
  }
}
