import type { AddWorkUnitItem, SummaryRecord, VersionGuard, WorkSpec, WorkUnit, WorkUnitMeta, WorkUnitQuery } from '../../coordinate/api.js'
import { type DataDict, type WorkUnitKey, workUnitKeyBytes } from '../../coordinate/data.js'
import { InvalidInputError } from '../../coordinate/errors.js'
import type { WorkUnitStatus } from '../../coordinate/status.js'
import type { WorkSpecMeta, WorkSpecMetaUpdate } from '../../coordinate/work-spec-meta.js'
import type { WorkSpecSnapshot, WorkUnitSnapshot } from '../../coordinate/work-unit-snapshot.js'
import { dataFromJson } from '../data-json.js'
import { decodeKey } from '../names.js'
import { WORK_SPEC_META_FIELDS } from '../request-input.js'
import { urls } from '../urls.js'
import { metaFromJson, obj, snapshotFromJson, summaryFromJson } from './json-in.js'
import type { RestNamespace } from './rest-namespace.js'
import { RestWorkUnit } from './rest-work-unit.js'
import { dataOut, finite, keyOut, optionalDataOut, queryOut, timeOut, unitMetaOut } from './request-out.js'

// The server's largest page and largest bulk request.
const PAGE = 10_000
// Names per request of a query by names (they travel in the URL, which has a size limit).
const NAMES_PER_REQUEST = 100

/** A work spec on the server, by name. */
export class RestWorkSpec implements WorkSpec {
  constructor(
    readonly namespace: RestNamespace,
    readonly name: string,
  ) {}

  /** @internal The spec's URL path. */
  get url(): string {
    return urls.workSpec(this.namespace.name, this.name)
  }

  get #transport(): RestNamespace['transport'] {
    return this.namespace.transport
  }

  /** The definition dict. */
  async data(): Promise<DataDict> {
    return dataFromJson(obj(await this.#transport.call('GET', this.url)).data)
  }

  /** Replaces the definition; returns the new version. */
  async setData(data: DataDict, guard?: VersionGuard): Promise<number> {
    const body: Record<string, unknown> = { data: dataOut(data, 'work spec') }
    if (guard?.ifVersion !== undefined) body.if_version = guard.ifVersion
    return Number(obj(await this.#transport.call('PUT', this.url, { body })).version)
  }

  /** Definition, meta and version in one read. */
  async snapshot(): Promise<WorkSpecSnapshot> {
    const s = obj(await this.#transport.call('GET', `${this.url}/snapshot`))
    return { data: dataFromJson(s.data), meta: metaFromJson(s.meta), version: Number(s.version) }
  }

  /** Control settings (with counts when asked). */
  async meta(options: { withCounts?: boolean } = {}): Promise<WorkSpecMeta> {
    return metaFromJson(await this.#transport.call('GET', `${this.url}/meta`, { query: { counts: options.withCounts ? 'true' : undefined } }))
  }

  /** Changes the settable meta fields. */
  async setMeta(meta: WorkSpecMetaUpdate): Promise<void> {
    const body: Record<string, unknown> = {}
    for (const [json, field, type] of WORK_SPEC_META_FIELDS) {
      const value = meta[field]
      if (value === undefined) continue
      body[json] = type === 'time' ? timeOut(value, field) : type === 'number' ? finite(value, field) : value
    }
    await this.#transport.call('PUT', `${this.url}/meta`, { body })
  }

  /** Adds or updates one unit. */
  async addWorkUnit(key: WorkUnitKey, data: DataDict = {}, meta?: Partial<WorkUnitMeta>): Promise<WorkUnit> {
    const body = { key: keyOut(key), data: dataOut(data), meta: unitMetaOut(meta) }
    const answer = obj(await this.#transport.call('POST', `${this.url}/work_unit`, { body }))
    return new RestWorkUnit(this, decodeKey(String(answer.key)))
  }

  /** Adds or updates many units, all or nothing; returns how many. */
  async addWorkUnits(items: readonly AddWorkUnitItem[]): Promise<number> {
    if (!Array.isArray(items)) throw new InvalidInputError('addWorkUnits takes a list')
    if (items.length === 0) return 0
    if (items.length > PAGE) throw new InvalidInputError(`at most ${PAGE} units per addWorkUnits over HTTP`)
    const body = items.map((item, i) => {
      if (item === null || typeof item !== 'object') throw new InvalidInputError(`work_units[${i}] must be an object`)
      return { key: keyOut(item.key), data: optionalDataOut(item.data, `work_units[${i}].data`), meta: unitMetaOut(item.meta) }
    })
    return Number(obj(await this.#transport.call('POST', `${this.url}/add_work_units`, { body: { work_units: body } })).count)
  }

  /** The unit with this key; NoSuchWorkUnitError if there is none. */
  async workUnit(key: WorkUnitKey): Promise<WorkUnit> {
    const bytes = workUnitKeyBytes(key)
    await this.#transport.call('GET', `${urls.workUnit(this.namespace.name, this.name, bytes)}/snapshot`)
    return new RestWorkUnit(this, bytes)
  }

  /** The units the query selects, sorted by key (fetched page by page). */
  async workUnits(query: WorkUnitQuery = {}): Promise<WorkUnit[]> {
    const keys = await this.#keys(query)
    return keys.map((key) => new RestWorkUnit(this, key))
  }

  async #keys(query: WorkUnitQuery): Promise<Uint8Array[]> {
    if (query === null || typeof query !== 'object') throw new InvalidInputError('a work unit query must be an object')
    if (query.limit !== undefined && (!Number.isSafeInteger(query.limit) || query.limit < 0)) {
      throw new InvalidInputError(`a query limit must be a whole number, not ${String(query.limit)}`)
    }
    if (query.names !== undefined && query.names.length === 0) return []
    if (query.names !== undefined && query.names.length > NAMES_PER_REQUEST) {
      const keys: Uint8Array[] = []
      for (let i = 0; i < query.names.length; i += NAMES_PER_REQUEST) {
        keys.push(...(await this.#keys({ ...query, names: query.names.slice(i, i + NAMES_PER_REQUEST) })))
      }
      const sorted = keys.sort(Buffer.compare)
      return query.limit ? sorted.slice(0, query.limit) : sorted
    }
    const keys: Uint8Array[] = []
    let previous = query.previousName
    for (;;) {
      const want = query.limit ? Math.min(PAGE, query.limit - keys.length) : PAGE
      const page = { ...query, limit: want, ...(previous !== undefined ? { previousName: previous } : {}) }
      const answer = obj(await this.#transport.call('GET', `${this.url}/work_unit`, { query: queryOut(page) }))
      for (const u of answer.work_units as { key: string }[]) keys.push(decodeKey(u.key))
      if (typeof answer.next !== 'string' || (query.limit && keys.length >= query.limit)) return keys
      previous = decodeKey(answer.next)
    }
  }

  /** Snapshots of the units with these keys; missing keys are left out. */
  async workUnitSnapshots(keys: readonly WorkUnitKey[]): Promise<WorkUnitSnapshot[]> {
    const snapshots: WorkUnitSnapshot[] = []
    for (let i = 0; i < keys.length; i += PAGE) {
      const body = { keys: keys.slice(i, i + PAGE).map(keyOut) }
      const answer = obj(await this.#transport.call('POST', `${this.url}/work_unit_snapshots`, { body }))
      for (const s of answer.snapshots as unknown[]) snapshots.push(snapshotFromJson(s))
    }
    return snapshots
  }

  /** Unit counts by status; zero counts left out. */
  async countWorkUnitStatus(): Promise<Partial<Record<WorkUnitStatus, number>>> {
    return obj(await this.#transport.call('GET', `${this.url}/counts`)) as Partial<Record<WorkUnitStatus, number>>
  }

  /** Sets the priority of the selected units; returns how many. */
  setWorkUnitPriorities(query: WorkUnitQuery, priority: number): Promise<number> {
    return this.#priorities('change', query, finite(priority, 'priority'))
  }

  /** Adds `delta` to the priority of the selected units; returns how many. */
  adjustWorkUnitPriorities(query: WorkUnitQuery, delta: number): Promise<number> {
    return this.#priorities('adjust', query, finite(delta, 'delta'))
  }

  async #priorities(path: 'change' | 'adjust', query: WorkUnitQuery, value: number): Promise<number> {
    return this.#byQuery(query, async (q) =>
      Number(obj(await this.#transport.call('POST', `${this.url}/${path}`, { query: queryOut(q), body: { meta: { priority: value } } })).count),
    )
  }

  /** Deletes the selected units (every unit for the empty query); returns how many. */
  deleteWorkUnits(query: WorkUnitQuery = {}): Promise<number> {
    return this.#byQuery(query, async (q) => {
      const params = queryOut(q)
      if (Object.keys(params).length === 0) params.all = 'true'
      return Number(obj(await this.#transport.call('DELETE', `${this.url}/work_unit`, { query: params })).deleted)
    })
  }

  // Runs a write over the query's units, splitting long name lists (which travel in the URL);
  // with a limit as well, the units are chosen first so that the limit applies across the lists.
  async #byQuery(query: WorkUnitQuery, run: (query: WorkUnitQuery) => Promise<number>): Promise<number> {
    if (query === null || typeof query !== 'object') throw new InvalidInputError('a work unit query must be an object')
    if (query.names === undefined || query.names.length <= NAMES_PER_REQUEST) {
      return query.names?.length === 0 ? 0 : run(query)
    }
    const names = query.limit ? await this.#keys(query) : query.names
    let total = 0
    for (let i = 0; i < names.length; i += NAMES_PER_REQUEST) {
      const chunk: WorkUnitQuery = { ...query, names: names.slice(i, i + NAMES_PER_REQUEST) }
      delete chunk.limit
      total += await run(chunk)
    }
    return total
  }

  /** Unit counts of this spec. */
  async summarize(): Promise<SummaryRecord[]> {
    return summaryFromJson(await this.#transport.call('GET', `${this.url}/summary`))
  }
}
