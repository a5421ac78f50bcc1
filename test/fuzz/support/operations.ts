import fc from 'fast-check'
import { expect } from 'vitest'
import {
  type Attempt,
  type AttemptRequest,
  type Coordinate,
  type DataDict,
  type DataValue,
  type FakeClock,
  type Namespace,
  Tuple,
  type WorkSpec,
  type WorkSpecMeta,
  type WorkSpecMetaUpdate,
  type WorkUnit,
  type WorkUnitMeta,
  type WorkUnitQuery,
  type Worker,
  type WorkerUpdate,
  workUnitKeyBytes,
} from '../../../src/coordinate/index.js'
import * as arb from './arbitraries.js'

/** What one property run works on: a fresh namespace with a spec, two units, a worker and a pending attempt. */
export interface World {
  coordinate: Coordinate
  clock: FakeClock
  namespace: Namespace
  spec: WorkSpec
  unitA: WorkUnit
  unitB: WorkUnit
  worker: Worker
  attempt: Attempt
}

/** Builds the world of one run in namespace `name` (spec "s" chaining to "t", units "a" and "b", "a" leased to "w"). */
export async function makeWorld(coordinate: Coordinate, clock: FakeClock, name: string): Promise<World> {
  const namespace = await coordinate.namespace(name)
  const spec = await namespace.setWorkSpec({ name: 's', then: 't' })
  await namespace.setWorkSpec({ name: 't' })
  const unitA = await spec.addWorkUnit('a', { n: 1 })
  const unitB = await spec.addWorkUnit('b', { n: 2 })
  const worker = await namespace.worker('w')
  const attempt = await worker.makeAttempt(unitA)
  return { coordinate, clock, namespace, spec, unitA, unitB, worker, attempt }
}

/** One generated call: its label (for failure reports), the call, and the read-back after a success. */
export interface Operation {
  label: string
  /** Makes the call. */
  call(world: World): Promise<unknown>
  /** After a successful call: checks that reading back gives what was written. */
  check(world: World, result: unknown): Promise<void>
}

const as = <T>(value: unknown) => value as T

/** What a stored data value reads back as: -0 as 0, safe bigints as numbers, int-keyed maps as maps, bytes as plain Uint8Arrays. */
export function readBack(value: unknown): unknown {
  // CBOR writes an integral float as an integer, so -0 comes back as 0.
  if (Object.is(value, -0)) return 0
  if (typeof value === 'bigint') return Number.isSafeInteger(Number(value)) ? Number(value) : value
  if (value instanceof Uint8Array) return new Uint8Array(value)
  if (value instanceof Tuple) return new Tuple(value.items.map((item) => readBack(item) as DataValue))
  if (Array.isArray(value)) return value.map(readBack)
  if (value instanceof Map) {
    // CBOR cannot tell an empty map from an empty dict.
    if (value.size === 0) return {}
    return new Map([...value].map(([k, v]) => [readBack(k), readBack(v)]))
  }
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && Object.getPrototypeOf(value) === Object.prototype) {
    const out: Record<string, unknown> = {}
    for (const [k, v] of Object.entries(value)) Object.defineProperty(out, k, { value: readBack(v), enumerable: true, writable: true, configurable: true })
    return out
  }
  return value
}

function op<T>(
  kind: string,
  args: fc.Arbitrary<T>,
  call: (world: World, args: T) => Promise<unknown>,
  check: (world: World, args: T, result: unknown) => Promise<void> = async () => undefined,
): fc.Arbitrary<Operation> {
  return args.map((a) => {
    const label = `${kind} ${fc.stringify(a)}`.slice(0, 600)
    return {
      label,
      call: (world: World) => call(world, a),
      check: (world: World, result: unknown) => check(world, a, result),
      [fc.toStringMethod]: () => label,
    }
  })
}

async function expectSpecData(namespace: Namespace, data: unknown): Promise<void> {
  const name = (data as { name: string }).name
  const spec = await namespace.workSpec(name)
  expect(await spec.data()).toEqual(readBack(data))
  expect(await spec.meta()).toMatchObject(documentedMeta(data as Record<string, unknown>))
}

// The meta docs/limits.md says a spec dict gives (the generator writes lower-case keys).
function documentedMeta(dict: Record<string, unknown>): Partial<WorkSpecMeta> {
  const int = (key: string) => readBack(Math.trunc(Number(dict[key] ?? 0))) as number
  const weight = int('weight')
  expect(weight >= 0, 'a negative weight is refused, not rewritten').toBe(true)
  return {
    priority: int('priority'),
    weight: weight > 0 ? weight : Math.max(1, 20 - int('nice')),
    maxRunning: int('max_running'),
    maxAttemptsReturned: int('max_getwork'),
    maxRetries: int('max_retries'),
    minMemoryGb: readBack(Number(dict.min_gb ?? 0)) as number,
    intervalMs: readBack(Math.round(Number(dict.interval ?? 0) * 1000)) as number,
  }
}

async function expectUnit(spec: WorkSpec, key: unknown, data: unknown, meta: Partial<WorkUnitMeta> | undefined): Promise<void> {
  const [snapshot] = await spec.workUnitSnapshots([as<string>(key)])
  expect(snapshot?.key).toEqual(new Uint8Array(workUnitKeyBytes(as<string>(key))))
  expect(snapshot?.unitData).toEqual(readBack(data ?? {}))
  expect(snapshot?.priority).toBe(readBack(meta?.priority ?? 0))
  expect(snapshot?.notBefore ?? null).toEqual(meta?.notBefore ?? null)
}

// A get-or-create by name (namespace, worker): what comes back bears the name asked for.
function getOrCreate(kind: string, get: (world: World, name: string) => Promise<{ name: string }>): fc.Arbitrary<Operation> {
  return op(
    kind,
    arb.name,
    (w, name) => get(w, as(name)),
    async (_w, name, made) => expect((made as { name: string }).name).toBe(name),
  )
}

/** Every public call of the Coordinate API, with generated arguments. */
export const operation: fc.Arbitrary<Operation> = fc.oneof(
  getOrCreate('namespace', (w, name) => w.coordinate.namespace(name)),
  op(
    'setWorkSpec',
    arb.specData(arb.name),
    (w, data) => w.namespace.setWorkSpec(as(data)),
    (w, data) => expectSpecData(w.namespace, data),
  ),
  op(
    'spec.setData',
    fc.tuple(arb.specData(fc.constant('s')), fc.option(fc.record({ ifVersion: arb.number }), { nil: undefined })),
    (w, [data, guard]) => w.spec.setData(as(data), as(guard)),
    (w, [data]) => expectSpecData(w.namespace, data),
  ),
  op(
    'spec.setMeta',
    arb.specMeta,
    (w, update) => w.spec.setMeta(as(update)),
    async (w, update) => {
      const meta = await w.spec.meta()
      const u = update as WorkSpecMetaUpdate
      for (const field of ['priority', 'weight', 'paused', 'minMemoryGb', 'intervalMs', 'maxRunning', 'maxAttemptsReturned', 'maxRetries', 'nextContinuous'] as const) {
        if (u[field] !== undefined) expect(meta[field]).toEqual(readBack(u[field]))
      }
    },
  ),
  op(
    'spec.meta',
    fc.oneof(fc.constant(undefined), fc.record({ withCounts: fc.oneof(fc.boolean(), fc.constant('yes')) })),
    (w, options) => w.spec.meta(as(options)),
  ),
  op(
    'addWorkUnit',
    fc.tuple(arb.key, fc.option(arb.data, { nil: undefined }), fc.option(arb.unitMeta, { nil: undefined })),
    (w, [key, data, meta]) => w.spec.addWorkUnit(as(key), as(data), as(meta)),
    (w, [key, data, meta]) => expectUnit(w.spec, key, data, as(meta)),
  ),
  op(
    'addWorkUnits',
    fc.oneof(fc.array(fc.record({ key: arb.key, data: arb.data, meta: arb.unitMeta }, { requiredKeys: ['key'] }), { maxLength: 4 }), fc.constant('x')),
    (w, items) => w.spec.addWorkUnits(as(items)),
    async (w, items, count) => {
      const last = new Map<string, { key: unknown; data?: unknown; meta?: unknown }>()
      for (const item of items as { key: unknown }[]) last.set(Buffer.from(workUnitKeyBytes(as(item.key))).toString('latin1'), item)
      expect(count).toBe(last.size)
      for (const item of last.values()) await expectUnit(w.spec, item.key, item.data, as(item.meta))
    },
  ),
  op(
    'workUnit',
    arb.key,
    (w, key) => w.spec.workUnit(as(key)),
    async (_w, key, unit) => expect((unit as WorkUnit).key).toEqual(new Uint8Array(workUnitKeyBytes(as(key)))),
  ),
  op(
    'workUnits',
    arb.query,
    (w, query) => w.spec.workUnits(as(query)),
    async (_w, query, units) => {
      const limit = (query as WorkUnitQuery | undefined)?.limit ?? 0
      if (limit > 0) expect((units as unknown[]).length).toBeLessThanOrEqual(limit)
    },
  ),
  op(
    'workUnitSnapshots',
    fc.oneof(fc.array(arb.key, { maxLength: 3 }), fc.constant('a')),
    (w, keys) => w.spec.workUnitSnapshots(as(keys)),
    async (_w, keys, snapshots) => expect((snapshots as unknown[]).length).toBeLessThanOrEqual((keys as unknown[]).length),
  ),
  op(
    'setWorkUnitPriorities',
    fc.tuple(arb.query, arb.number),
    (w, [query, priority]) => w.spec.setWorkUnitPriorities(as(query), as(priority)),
    async (w, [query, priority], n) => {
      expect(Number.isInteger(n) && (n as number) >= 0).toBe(true)
      if ((query as WorkUnitQuery | undefined)?.limit) return
      for (const unit of await w.spec.workUnits(as(query))) expect((await unit.meta()).priority).toBe(readBack(priority))
    },
  ),
  op(
    'adjustWorkUnitPriorities',
    fc.tuple(arb.query, arb.number),
    (w, [query, delta]) => w.spec.adjustWorkUnitPriorities(as(query), as(delta)),
    async (_w, _args, n) => expect(Number.isInteger(n) && (n as number) >= 0).toBe(true),
  ),
  op(
    'deleteWorkUnits',
    arb.query,
    (w, query) => w.spec.deleteWorkUnits(as(query)),
    async (_w, _query, n) => expect(Number.isInteger(n) && (n as number) >= 0).toBe(true),
  ),
  op(
    'unit.setData',
    fc.tuple(arb.data, fc.option(fc.record({ ifVersion: arb.number }), { nil: undefined })),
    (w, [data, guard]) => w.unitB.setData(as(data), as(guard)),
    async (w, [data]) => expect((await w.unitB.snapshot()).unitData).toEqual(readBack(data)),
  ),
  op(
    'unit.setMeta',
    arb.unitMeta,
    (w, meta) => w.unitB.setMeta(as(meta)),
    async (w, meta) => {
      const m = meta as Partial<WorkUnitMeta>
      const read = await w.unitB.meta()
      if (m.priority !== undefined) expect(read.priority).toBe(readBack(m.priority))
      if (m.notBefore !== undefined) expect(read.notBefore).toEqual(m.notBefore)
    },
  ),
  getOrCreate('worker', (w, name) => w.namespace.worker(name)),
  op(
    'worker.update',
    fc.oneof(fc.record({ data: arb.data, mode: arb.name, now: arb.time, expiration: arb.time }, { requiredKeys: [] }), fc.constant(null)),
    (w, update) => w.worker.update(as(update)),
    async (w, update) => {
      const u = update as WorkerUpdate
      if (u.data !== undefined) expect(await w.worker.data()).toEqual(readBack(u.data))
      if (u.mode !== undefined) expect(await w.worker.mode()).toBe(u.mode)
      if (u.expiration !== undefined) expect(await w.worker.expiration()).toEqual(u.expiration)
    },
  ),
  op(
    'requestAttempts',
    arb.attemptRequest,
    (w, request) => w.worker.requestAttempts(as(request)),
    async (_w, request, attempts) => {
      const list = attempts as Attempt[]
      expect(list.length).toBeLessThanOrEqual((request as AttemptRequest | undefined)?.numberOfWorkUnits ?? 1)
      for (const attempt of list) expect(await attempt.status()).toBe('pending')
    },
  ),
  op(
    'makeAttempt',
    fc.option(arb.duration, { nil: undefined }),
    (w, lifetime) => w.worker.makeAttempt(w.unitB, as(lifetime)),
    async (w, lifetime, attempt) => {
      // Dates hold whole milliseconds: a fraction of one is dropped.
      const expected = new Date(w.clock.now().getTime() + ((lifetime as number | undefined) ?? 15 * 60_000)).getTime()
      expect((await (attempt as Attempt).expirationTime()).getTime()).toBe(expected)
    },
  ),
  op(
    'attempt.renew',
    fc.tuple(arb.duration, fc.option(arb.data, { nil: undefined })),
    (w, [ms, data]) => w.attempt.renew(as(ms), as(data)),
    async (w, [ms, data]) => {
      expect((await w.attempt.expirationTime()).getTime()).toBe(new Date(w.clock.now().getTime() + (ms as number)).getTime())
      if (data !== undefined && data !== null) expect(await w.attempt.data()).toEqual(readBack(data))
    },
  ),
  op(
    'attempt.end',
    fc.tuple(fc.constantFrom('finish', 'fail', 'expire'), fc.option(arb.data, { nil: undefined })),
    async (w, [how, data]) => {
      const before = await w.attempt.status()
      await w.attempt[how as 'finish' | 'fail' | 'expire'](as(data))
      return before
    },
    async (w, [how, data], before) => {
      expect(await w.attempt.status()).toBe({ finish: 'finished', fail: 'failed', expire: 'expired' }[how as 'finish'])
      // Expiring an attempt that already expired is a no-op: its data stays.
      if (before === 'pending' && data !== undefined && data !== null) expect(await w.attempt.data()).toEqual(readBack(data))
    },
  ),
  op(
    'attempt.retry',
    fc.tuple(fc.option(arb.data, { nil: undefined }), fc.option(arb.duration, { nil: undefined })),
    (w, [data, delay]) => w.attempt.retry(as(data), as(delay)),
    async (w) => expect(await w.attempt.status()).toBe('retryable'),
  ),
  op(
    'completeAttempts',
    fc.tuple(fc.oneof(fc.constantFrom('finished', 'failed'), fc.constant('done')), fc.option(arb.data, { nil: undefined }), fc.boolean()),
    (w, [status, data, twice]) => {
      const completion = { attempt: w.attempt, status: as<'finished'>(status), data: as<DataDict>(data) }
      return w.namespace.completeAttempts(twice ? [completion, completion] : [completion])
    },
    async (w, [status]) => expect(await w.attempt.status()).toBe(status),
  ),
)
