import fc from 'fast-check'
import { afterAll, expect, it } from 'vitest'
import { CborRpcServer } from '../../src/cborrpc/server.js'
import { type DataValue, Uuid, isDataDict } from '../../src/coordinate/index.js'
import { JobServer, lockMethods } from '../../src/jobserver/index.js'
import { TestClient } from '../cborrpc/python-like-client.js'
import { type Py2Input, PyTuple, py2, u } from '../jobserver/harness.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { DatabaseSnapshots } from './support/db-snapshot.js'
import { fuzzSettings, fuzzTimeoutMs } from './support/settings.js'

// The property over CBOR-RPC: random parameters for every jobserver method, sent as the Python 2
// client sends them, get either an answer of the Python shape or an error message, an error
// changes nothing in the database, and the server still answers afterwards.

const { coordinate, clock, url } = await openTestCoordinate()
const snapshots = await DatabaseSnapshots.open(url)
let current: JobServer | undefined
const server = new CborRpcServer((method, params, context) => {
  if (!current) throw new Error('no JobServer')
  return current.handler(method, params, context)
}, { port: 0 })
const { port } = await server.listen()
const client = await TestClient.connect(port)
afterAll(async () => {
  client.socket.destroy()
  await server.close()
  await snapshots.close()
})

const METHODS = new JobServer({ namespace: await coordinate.namespace('methods'), clock, lockMethods: lockMethods(coordinate.locks()) }).methodNames

// Methods whose result is not a [value, message] pair, and what it is instead.
const NOT_A_PAIR: Record<string, (result: DataValue) => boolean> = {
  clear: (r) => Number.isInteger(r),
  now: (r) => Number.isInteger(r),
  get_work_spec: (r) => r === null || isDataDict(r),
  archive: (r) => r === null,
  worker_stats: (r) => isDataDict(r),
}
const LOCK_METHODS = new Set(['lock', 'locksome', 'renew', 'readlock', 'unlock', 'delete_namespace'])

/** Whether a result has the shape the Python client expects of this method. */
function pythonShaped(method: string, result: DataValue): boolean {
  if (LOCK_METHODS.has(method)) return true
  const special = NOT_A_PAIR[method]
  if (special) return special(result)
  return Array.isArray(result) && result.length === 2 && (result[1] === null || typeof result[1] === 'string')
}

const OPTION_KEYS = ['status', 'limit', 'start', 'max_jobs', 'lease_time', 'available_gb', 'work_spec_names', 'priority', 'adjustment', 'data', 'worker_id', 'weight', 'interval', 'max_running', 'continuous', 'work_unit_keys', 'name']

const pyText: fc.Arbitrary<Py2Input> = fc.oneof(
  fc.constantFrom('s', 'a', 'b', 'w'),
  fc.string({ maxLength: 6 }),
  fc.constantFrom('x\u0000', 'n'.repeat(1001), 'k'.repeat(2001)),
)

const pyValue: fc.Arbitrary<Py2Input> = fc.letrec<{ value: Py2Input }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 3 },
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -3, max: 20 }),
    fc.double(),
    fc.bigInt({ min: -(2n ** 63n), max: 2n ** 64n - 1n }),
    pyText,
    pyText.map((t) => u(t as string)),
    fc.uint8Array({ maxLength: 4 }),
    fc.uuid().map((x) => Uuid.parse(x)),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new PyTuple(items)),
    fc.array(tie('value'), { maxLength: 3 }),
    fc.dictionary(fc.oneof(fc.constantFrom(...OPTION_KEYS), fc.string({ maxLength: 4 })), tie('value'), { maxKeys: 3 }),
  ),
})).value

/** A spec dict as `set_work_spec` gets it, with settings valid and not. */
const pySpec: fc.Arbitrary<Py2Input> = fc
  .tuple(pyText, fc.dictionary(fc.constantFrom('priority', 'weight', 'nice', 'max_running', 'max_getwork', 'max_retries', 'interval', 'min_gb'), pyValue, { maxKeys: 3 }))
  .map(([name, settings]) => ({ ...settings, name }))

interface Call {
  method: string
  params: DataValue[]
  [fc.toStringMethod](): string
}

// Parameter counts, so that most calls get past the count check to the method itself.
const ARITY: Record<string, number> = { lock: 3, locksome: 3, renew: 3, readlock: 1, unlock: 2, delete_namespace: 1, list_work_specs: 1, set_work_spec: 1, del_work_spec: 1, get_work_spec: 1, control_work_spec: 2, get_work_spec_meta: 1, add_work_units: 2, get_work_units: 2, get_work_unit_status: 2, prioritize_work_units: 2, count_work_units: 1, del_work_units: 2, archive: 1, get_work: 2, update_work_unit: 3, worker_heartbeat: 5, worker_unregister: 1, get_worker_info: 1, get_child_work_units: 1 }

/** An options dict as Python sends it: the keys the methods read, with values valid and not. */
const pyOptions: fc.Arbitrary<Py2Input> = fc.dictionary(fc.constantFrom(...OPTION_KEYS), pyValue, { maxKeys: 3 })

const param = fc.oneof({ weight: 3, arbitrary: pyText }, { weight: 3, arbitrary: pyOptions }, { weight: 2, arbitrary: pyValue }, { weight: 1, arbitrary: pySpec }, { weight: 1, arbitrary: fc.array(pyText, { maxLength: 3 }) })

const call: fc.Arbitrary<Call> = fc
  .oneof(fc.constantFrom(...METHODS), fc.constantFrom('no_such', '__proto__', 'constructor'))
  .chain((method) => {
    const arity = Object.hasOwn(ARITY, method) ? (ARITY[method] as number) : 0
    const count = fc.oneof({ weight: 6, arbitrary: fc.constant(arity) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 5 }) })
    return fc.tuple(fc.constant(method), count.chain((n) => fc.array(param, { minLength: n, maxLength: n })))
  })
  .map(([method, params]) => {
    const wire = params.map(py2)
    return { method, params: wire, [fc.toStringMethod]: () => `${method}(${fc.stringify(wire)})`.slice(0, 600) }
  })

let nextId = 1
let run = 0

it(
  'every method answers in the Python shape or with an error message, changes nothing on error, and keeps serving',
  async () => {
    const settings = fuzzSettings(40)
    const property = fc.asyncProperty(fc.array(call, { minLength: 1, maxLength: 4 }), async (calls) => {
      const namespace = await coordinate.namespace(`fuzz rpc ${run++}`)
      current = new JobServer({ namespace, clock, lockMethods: lockMethods(coordinate.locks()) })
      await namespace.setWorkSpec({ name: 's', then: 't' })
      await (await namespace.workSpec('s')).addWorkUnits([{ key: 'a' }, { key: 'b', data: { n: 1 } }])
      try {
        for (const { method, params } of calls) {
          const before = await snapshots.take()
          const answer = await client.call(nextId++, method, params)
          if ('result' in answer) {
            expect(pythonShaped(method, answer.result ?? null), `${method} answered ${fc.stringify(answer.result)}`).toBe(true)
            continue
          }
          const error = answer.error
          expect(isDataDict(error) && typeof error.message === 'string', `${method} error ${fc.stringify(error ?? null)}`).toBe(true)
          expect(await snapshots.take(), `${method} failed with ${String((error as { message: string }).message)} but wrote`).toEqual(before)
        }
      } finally {
        await namespace.destroy()
      }
    })
    await fc.assert(property, settings)
    // Still serving, on the same connection.
    const answer = await client.call(nextId++, 'now', [])
    expect(typeof answer.result).toBe('number')
  },
  fuzzTimeoutMs(fuzzSettings(40), 1000),
)
