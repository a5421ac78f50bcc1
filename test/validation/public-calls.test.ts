import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import {
  type Attempt,
  type Coordinate,
  type DataDict,
  InvalidInputError,
  MAX_KEY_BYTES,
  MAX_NAME_BYTES,
  type Namespace,
  type WorkSpec,
  type WorkUnit,
  type Worker,
} from '../../src/coordinate/index.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { namespaceSnapshot } from '../support/namespace-snapshot.js'

// One table per public call: each invalid value, the message it gets, and proof that the
// database did not change. Runs over the Postgres backend and over the cache.

const target = await openTestCoordinate()
const cache = cacheCoordinate(target.coordinate, { clock: target.clock, closeBackend: false, start: false })
afterAll(() => cache.close())

interface Fixture {
  coordinate: Coordinate
  namespace: Namespace
  spec: WorkSpec
  unit: WorkUnit
  worker: Worker
  attempt: Attempt
}

type Call = (f: Fixture) => Promise<unknown>
type Row = [value: string, call: Call, message: RegExp]

function cyclic(): DataDict {
  const dict: DataDict = { a: 1 }
  dict.self = dict
  return dict
}

// A string that does not compress: what broke the B-tree index before names had a bound.
function randomText(length: number): string {
  let text = ''
  for (let i = 0; i < length; i++) text += String.fromCharCode(0x41 + ((i * 7919 + (i >> 3) * 104729) % 2000))
  return text
}

const longName = randomText(5000)
const longKey = 'k'.repeat(MAX_KEY_BYTES + 1)
const bad = <T>(value: unknown) => value as T

const TABLES: Record<string, Row[]> = {
  'Coordinate.namespace': [
    ['5000 random characters', (f) => f.coordinate.namespace(longName), new RegExp(`at most ${MAX_NAME_BYTES} UTF-8 bytes`)],
    ['a NUL character', (f) => f.coordinate.namespace('a\u0000b'), /NUL/],
    ['a lone surrogate', (f) => f.coordinate.namespace('a\uD800'), /lone surrogate/],
    ['a number', (f) => f.coordinate.namespace(bad(5)), /must be a string, not 5/],
  ],
  'Namespace.setWorkSpec': [
    ['name of 5000 random characters', (f) => f.namespace.setWorkSpec({ name: longName }), /work spec name may have at most 1000/],
    ['name with NUL', (f) => f.namespace.setWorkSpec({ name: 'a\u0000' }), /work spec name must not contain a NUL/],
    ['priority NaN', (f) => f.namespace.setWorkSpec({ name: 'p', priority: NaN }), /priority must be a finite number, not NaN/],
    ['priority 2^31', (f) => f.namespace.setWorkSpec({ name: 'p', priority: 2 ** 31 }), /priority must be between -2147483648 and 2147483647/],
    ['priority as a huge bigint', (f) => f.namespace.setWorkSpec({ name: 'p', priority: 2n ** 62n }), /priority must be between/],
    ['weight -3', (f) => f.namespace.setWorkSpec({ name: 'w', weight: -3 }), /weight must be at least 1 \(or 0 for 20 - nice\), not -3/],
    ['weight Infinity', (f) => f.namespace.setWorkSpec({ name: 'w', weight: Infinity }), /weight must be a finite number/],
    ['nice 2^40', (f) => f.namespace.setWorkSpec({ name: 'w', nice: 2 ** 40 }), /nice must be between/],
    ['max_running -5', (f) => f.namespace.setWorkSpec({ name: 'm', max_running: -5 }), /max_running must be between 0 and 2147483647, not -5/],
    ['max_getwork -1', (f) => f.namespace.setWorkSpec({ name: 'm', max_getwork: -1 }), /max_getwork must be between 0/],
    ['max_retries 2^32', (f) => f.namespace.setWorkSpec({ name: 'm', max_retries: 2 ** 32 }), /max_retries must be between 0/],
    ['interval -1', (f) => f.namespace.setWorkSpec({ name: 'i', interval: -1 }), /interval must not be negative/],
    ['interval 1e12 s', (f) => f.namespace.setWorkSpec({ name: 'i', interval: 1e12 }), /interval in ms must be between 0 and/],
    ['min_gb NaN', (f) => f.namespace.setWorkSpec({ name: 'g', min_gb: NaN }), /min_gb must be a finite number/],
    ['min_gb -1', (f) => f.namespace.setWorkSpec({ name: 'g', min_gb: -1 }), /min_gb must not be negative/],
    ['then with NUL', (f) => f.namespace.setWorkSpec({ name: 't', then: 'x\u0000' }), /then must not contain a NUL/],
    ['runtime of 5000 characters', (f) => f.namespace.setWorkSpec({ name: 'r', runtime: longName }), /runtime may have at most/],
    ['a cycle', (f) => f.namespace.setWorkSpec({ name: 'c', ...cyclic() }), /nested more than 256 deep/],
    ['a function', (f) => f.namespace.setWorkSpec({ name: 'c', run: bad(() => 1) }), /holds a function/],
    ['a 70-bit integer', (f) => f.namespace.setWorkSpec({ name: 'c', big: 2n ** 70n }), /wider than 64 bits/],
    ['a lone surrogate in data', (f) => f.namespace.setWorkSpec({ name: 'c', text: '\uDC00' }), /lone surrogate/],
    ['a list', (f) => f.namespace.setWorkSpec(bad([1])), /must be a dict/],
  ],
  'Namespace.workSpec': [
    ['a number', (f) => f.namespace.workSpec(bad(1)), /work spec name must be a string/],
    ['a NUL character', (f) => f.namespace.workSpec('\u0000'), /NUL/],
    ['5000 random characters', (f) => f.namespace.workSpec(longName), /at most 1000 UTF-8 bytes/],
  ],
  'Namespace.destroyWorkSpec': [
    ['a number', (f) => f.namespace.destroyWorkSpec(bad(1)), /work spec name must be a string/],
    ['a NUL character', (f) => f.namespace.destroyWorkSpec('s\u0000'), /NUL/],
  ],
  'Namespace.worker': [
    ['null', (f) => f.namespace.worker(bad(null)), /worker name must be a string, not null/],
    ['5000 random characters', (f) => f.namespace.worker(longName), /at most 1000 UTF-8 bytes/],
  ],
  'Namespace.completeAttempts': [
    ['not a list', (f) => f.namespace.completeAttempts(bad({})), /completions must be a list/],
    ['a null completion', (f) => f.namespace.completeAttempts(bad([null])), /completion 0 is null/],
    ['status "done"', (f) => f.namespace.completeAttempts([{ attempt: f.attempt, status: bad('done') }]), /cannot complete an attempt as "done"/],
    ['the same attempt twice', (f) => f.namespace.completeAttempts([{ attempt: f.attempt, status: 'finished' }, { attempt: f.attempt, status: 'failed' }]), /completed twice/],
    ['bad data', (f) => f.namespace.completeAttempts([{ attempt: f.attempt, status: 'finished', data: cyclic() }]), /nested more than/],
  ],
  'WorkSpec.setData': [
    ['weight -3', (f) => f.spec.setData({ name: 's', weight: -3 }), /weight must be at least 1/],
    ['ifVersion 1.5', (f) => f.spec.setData({ name: 's' }, { ifVersion: 1.5 }), /ifVersion must be a whole number/],
  ],
  'WorkSpec.meta': [['withCounts "yes"', (f) => f.spec.meta(bad({ withCounts: 'yes' })), /withCounts must be a boolean/]],
  'WorkSpec.setMeta': [
    ['priority NaN', (f) => f.spec.setMeta({ priority: NaN }), /meta priority must be a whole number, not NaN/],
    ['priority 1.5', (f) => f.spec.setMeta({ priority: 1.5 }), /meta priority must be a whole number, not 1.5/],
    ['weight 0', (f) => f.spec.setMeta({ weight: 0 }), /meta weight must be between 1 and/],
    ['maxRunning -5', (f) => f.spec.setMeta({ maxRunning: -5 }), /meta maxRunning must be between 0/],
    ['maxAttemptsReturned 2^31', (f) => f.spec.setMeta({ maxAttemptsReturned: 2 ** 31 }), /maxAttemptsReturned must be between 0/],
    ['intervalMs -1', (f) => f.spec.setMeta({ intervalMs: -1 }), /intervalMs must be between 0 and/],
    ['intervalMs 0.5', (f) => f.spec.setMeta({ intervalMs: 0.5 }), /intervalMs must be a whole number/],
    ['nextContinuous an invalid Date', (f) => f.spec.setMeta({ nextContinuous: new Date(NaN) }), /nextContinuous must be a valid Date/],
    ['minMemoryGb -1', (f) => f.spec.setMeta({ minMemoryGb: -1 }), /minMemoryGb must not be negative/],
    ['paused "yes"', (f) => f.spec.setMeta({ paused: bad('yes') }), /paused must be a boolean/],
  ],
  'WorkSpec.addWorkUnit': [
    [`a key of ${MAX_KEY_BYTES + 1} bytes`, (f) => f.spec.addWorkUnit(longKey), /key may have at most 2000 bytes, not 2001/],
    ['a number key', (f) => f.spec.addWorkUnit(bad(5)), /key must be a string or bytes, not 5/],
    ['a cyclic data dict', (f) => f.spec.addWorkUnit('n', cyclic()), /data.self.self.*nested more than 256 deep/],
    ['priority NaN', (f) => f.spec.addWorkUnit('n', {}, { priority: NaN }), /priority must be a finite number/],
    ['priority 1e300', (f) => f.spec.addWorkUnit('n', {}, { priority: 1e300 }), /priority must be between/],
    ['notBefore an invalid Date', (f) => f.spec.addWorkUnit('n', {}, { notBefore: new Date(NaN) }), /notBefore must be a valid Date/],
    ['notBefore in year 10000', (f) => f.spec.addWorkUnit('n', {}, { notBefore: new Date(Date.UTC(10000, 0, 1)) }), /between years 1 and 9999/],
  ],
  'WorkSpec.addWorkUnits': [
    ['not a list', (f) => f.spec.addWorkUnits(bad('units')), /must come as a list/],
    ['a null item', (f) => f.spec.addWorkUnits(bad([null])), /work unit 0 is null/],
    ['a good item then a bad key', (f) => f.spec.addWorkUnits([{ key: 'fine' }, { key: longKey }]), /work unit 1 key may have at most/],
  ],
  'WorkSpec.workUnit': [
    ['an object', (f) => f.spec.workUnit(bad({})), /key must be a string or bytes/],
    ['2001 bytes', (f) => f.spec.workUnit(longKey), /at most 2000 bytes/],
  ],
  'WorkSpec.workUnits': [
    ['limit -1', (f) => f.spec.workUnits({ limit: -1 }), /limit must be between 0 and/],
    ['limit 1.5', (f) => f.spec.workUnits({ limit: 1.5 }), /limit must be a whole number/],
    ['status "bogus"', (f) => f.spec.workUnits({ statuses: bad(['bogus']) }), /unknown work unit status "bogus"/],
    ['names not a list', (f) => f.spec.workUnits({ names: bad('u') }), /names must be a list/],
    ['previousName 5', (f) => f.spec.workUnits({ previousName: bad(5) }), /previousName must be a string or bytes/],
    ['null query', (f) => f.spec.workUnits(bad(null)), /query must be an object/],
  ],
  'WorkSpec.workUnitSnapshots': [['not a list', (f) => f.spec.workUnitSnapshots(bad('u')), /keys must be a list/]],
  'WorkSpec.setWorkUnitPriorities': [
    ['NaN', (f) => f.spec.setWorkUnitPriorities({}, NaN), /priority must be a finite number/],
    ['1e300', (f) => f.spec.setWorkUnitPriorities({}, 1e300), /priority must be between/],
    ['a bad query', (f) => f.spec.setWorkUnitPriorities({ limit: -2 }, 1), /limit must be between/],
  ],
  'WorkSpec.adjustWorkUnitPriorities': [['Infinity', (f) => f.spec.adjustWorkUnitPriorities({}, Infinity), /adjustment must be a finite number/]],
  'WorkSpec.deleteWorkUnits': [['limit -1', (f) => f.spec.deleteWorkUnits({ limit: -1 }), /limit must be between/]],
  'WorkUnit.setData': [
    ['a cycle', (f) => f.unit.setData(cyclic()), /nested more than/],
    ['ifVersion -1', (f) => f.unit.setData({}, { ifVersion: -1 }), /ifVersion must be between 0/],
  ],
  'WorkUnit.setMeta': [
    ['priority NaN', (f) => f.unit.setMeta({ priority: NaN }), /priority must be a finite number/],
    ['notBefore a string', (f) => f.unit.setMeta({ notBefore: bad('tomorrow') }), /notBefore must be a Date/],
  ],
  'Worker.update': [
    ['data a list', (f) => f.worker.update({ data: bad([]) }), /worker data must be a dict/],
    ['mode with NUL', (f) => f.worker.update({ mode: 'x\u0000' }), /worker mode must not contain a NUL/],
    ['now an invalid Date', (f) => f.worker.update({ now: new Date(NaN) }), /now must be a valid Date/],
    ['expiration a string', (f) => f.worker.update({ expiration: bad('soon') }), /expiration must be a Date/],
  ],
  'Worker.requestAttempts': [
    ['numberOfWorkUnits -1', (f) => f.worker.requestAttempts({ numberOfWorkUnits: -1 }), /numberOfWorkUnits must be between 1 and 10000, not -1/],
    ['numberOfWorkUnits 0', (f) => f.worker.requestAttempts({ numberOfWorkUnits: 0 }), /numberOfWorkUnits must be between 1/],
    ['numberOfWorkUnits 1.5', (f) => f.worker.requestAttempts({ numberOfWorkUnits: 1.5 }), /numberOfWorkUnits must be a whole number/],
    ['numberOfWorkUnits 10001', (f) => f.worker.requestAttempts({ numberOfWorkUnits: 10_001 }), /between 1 and 10000/],
    ['lifetimeMs -1', (f) => f.worker.requestAttempts({ lifetimeMs: -1 }), /lifetimeMs must be between 0 and 86400000/],
    ['lifetimeMs two days', (f) => f.worker.requestAttempts({ lifetimeMs: 2 * 86_400_000 }), /lifetimeMs must be between/],
    ['availableGb NaN', (f) => f.worker.requestAttempts({ availableGb: NaN }), /availableGb must be a number/],
    ['workSpecs a string', (f) => f.worker.requestAttempts({ workSpecs: bad('s') }), /workSpecs must be a list/],
    ['workSpecs with NUL', (f) => f.worker.requestAttempts({ workSpecs: ['s\u0000'] }), /workSpecs\[0\] must not contain a NUL/],
    ['null', (f) => f.worker.requestAttempts(bad(null)), /attempt request must be an object/],
  ],
  'Worker.makeAttempt': [
    ['lifetimeMs -1', (f) => f.worker.makeAttempt(f.unit, -1), /lifetimeMs must be between 0/],
    ['lifetimeMs NaN', (f) => f.worker.makeAttempt(f.unit, NaN), /lifetimeMs must be a finite number/],
  ],
  'Attempt.renew': [
    ['-1 ms', (f) => f.attempt.renew(-1), /extendMs must be between 0/],
    ['NaN ms', (f) => f.attempt.renew(NaN), /extendMs must be a finite number/],
    ['cyclic data', (f) => f.attempt.renew(1000, cyclic()), /nested more than/],
  ],
  'Attempt.expire': [['a list as data', (f) => f.attempt.expire(bad([])), /data must be a dict/]],
  'Attempt.finish': [['a Date as data', (f) => f.attempt.finish(bad(new Date())), /data must be a dict, not Date/]],
  'Attempt.fail': [['a function in data', (f) => f.attempt.fail({ f: bad(() => 0) }), /data.f holds a function/]],
  'Attempt.retry': [
    ['delay -1', (f) => f.attempt.retry({}, -1), /delayMs must be between 0/],
    ['delay of 1e15 ms', (f) => f.attempt.retry({}, 1e15), /delayMs must be between 0 and/],
  ],
}

async function makeFixture(coordinate: Coordinate, name: string): Promise<Fixture> {
  const namespace = await coordinate.namespace(name)
  const spec = await namespace.setWorkSpec({ name: 's', then: 't' })
  const unit = await spec.addWorkUnit('u', { n: 1 })
  await spec.addWorkUnit('v', { n: 2 })
  const worker = await namespace.worker('w')
  const [attempt] = await worker.requestAttempts()
  if (!attempt) throw new Error('the fixture got no attempt')
  return { coordinate, namespace, spec, unit, worker, attempt }
}

const backends: [string, Coordinate][] = [
  ['postgres', target.coordinate],
  ['cache', cache],
]

describe.each(backends)('bad input over %s', (backendName, coordinate) => {
  let fixture: Fixture
  let backendNamespace: Namespace
  beforeAll(async () => {
    fixture = await makeFixture(coordinate, `table-${backendName}`)
    backendNamespace = await target.coordinate.namespace(`table-${backendName}`)
  })

  for (const [call, rows] of Object.entries(TABLES)) {
    describe(call, () => {
      it.each(rows)('%s', async (_value, run, message) => {
        const before = await namespaceSnapshot(target.coordinate, backendNamespace)
        const error = await run(fixture).then(
          () => undefined,
          (e: unknown) => e,
        )
        expect(error).toBeInstanceOf(InvalidInputError)
        expect((error as Error).message).toMatch(message)
        expect(await namespaceSnapshot(target.coordinate, backendNamespace)).toEqual(before)
      })
    })
  }
})
