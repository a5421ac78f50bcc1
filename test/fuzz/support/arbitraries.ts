import fc from 'fast-check'
import { type DataDict, type DataValue, Tuple, Uuid, WORK_UNIT_STATUSES } from '../../../src/coordinate/index.js'

// Generators of public-call arguments, valid and not, weighted so that most calls get past
// validation (and so exercise the database) while every kind of bad value still turns up.

/** Any value of a type no argument accepts. */
export const alien: fc.Arbitrary<unknown> = fc.oneof(
  fc.constant(undefined),
  fc.constant(() => 1),
  fc.constant(Symbol('s')),
  fc.constant(new Set([1])),
  fc.constant(new Int16Array(2)),
  fc.date(),
  fc.constant(Object.create({ inherited: 1 }) as unknown),
)

/** Strings, with lone surrogates and NULs now and then. */
const text = fc.oneof(
  { weight: 8, arbitrary: fc.string({ maxLength: 12 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom('\uD800', 'a\uDC00b', 'x\u0000y') },
)

/** Strings right around a UTF-8 byte bound, in one- and two-byte characters. */
function nearBound(bytes: number): fc.Arbitrary<string> {
  return fc.oneof(
    fc.integer({ min: bytes - 2, max: bytes + 2 }).map((n) => 'n'.repeat(n)),
    fc.integer({ min: bytes / 2 - 1, max: bytes / 2 + 1 }).map((n) => 'é'.repeat(n)),
  )
}

/** Names for namespaces, specs and workers: short ones mostly, then bounds, NULs and other types. */
export const name: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('s', 't', 'w', 'x') },
  { weight: 4, arbitrary: text },
  { weight: 1, arbitrary: nearBound(1000) },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 4 }) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), alien) },
)

/** Work unit keys: text and bytes, around the 2000-byte bound, and wrong types. */
export const key: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 10, arbitrary: fc.constantFrom('a', 'b', 'c', 'é') },
  { weight: 4, arbitrary: text },
  { weight: 4, arbitrary: fc.uint8Array({ maxLength: 8 }) },
  { weight: 1, arbitrary: nearBound(2000) },
  { weight: 1, arbitrary: fc.oneof(fc.integer(), fc.constant(null), fc.constant({}), alien) },
)

function defineEntries(entries: [string, unknown][]): DataDict {
  const dict: DataDict = {}
  for (const [k, v] of entries) Object.defineProperty(dict, k, { value: v, enumerable: true, writable: true, configurable: true })
  return dict
}

const leaf: fc.Arbitrary<DataValue> = fc.oneof(
  fc.constant(null),
  fc.boolean(),
  fc.integer(),
  fc.double(),
  fc.maxSafeInteger(),
  fc.bigInt({ min: -(2n ** 64n) + 1n, max: 2n ** 64n - 1n }),
  fc.string({ maxLength: 8 }),
  fc.uint8Array({ maxLength: 8 }),
  fc.uuid().map((u) => Uuid.parse(u)),
)

/** Storable values: nested lists, tuples, dicts and int-keyed maps over every leaf type. */
export const dataValue: fc.Arbitrary<DataValue> = fc.letrec<{ value: DataValue }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', maxDepth: 4 },
    leaf,
    fc.array(tie('value'), { maxLength: 3 }),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => new Tuple(items)),
    fc.array(fc.tuple(fc.string({ maxLength: 4 }), tie('value')), { maxLength: 3 }).map((e) => defineEntries(e) as DataValue),
    fc.array(fc.tuple(fc.integer({ min: -5, max: 5 }), tie('value')), { minLength: 1, maxLength: 3 }).map((e) => new Map<DataValue, DataValue>(e)),
  ),
})).value

/** A storable data dict. */
export const validData: fc.Arbitrary<DataDict> = fc
  .array(fc.tuple(fc.string({ maxLength: 6 }), dataValue), { maxLength: 4 })
  .map((entries) => defineEntries(entries))

/** What makes a dict unstorable, put somewhere inside it. */
const poison: fc.Arbitrary<(dict: DataDict) => void> = fc.oneof(
  fc.constant((dict: DataDict) => {
    dict.self = dict
  }),
  alien.map((value) => (dict: DataDict) => {
    ;(dict as Record<string, unknown>).bad = value
  }),
  fc.constantFrom(2n ** 64n, -(2n ** 70n), '\uD83D', 'ok\uDFFF').map((value) => (dict: DataDict) => {
    dict.bad = value
  }),
  fc.constant((dict: DataDict) => {
    let deep: DataValue = 1
    for (let i = 0; i < 300; i++) deep = [deep]
    dict.deep = deep
  }),
  fc.constant((dict: DataDict) => {
    dict['\uD800'] = 1
  }),
)

/** Data dicts: mostly storable; sometimes poisoned (a cycle, a function, a 70-bit integer…) or not a dict. */
export const data: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 8, arbitrary: validData },
  { weight: 2, arbitrary: fc.tuple(validData, poison).map(([dict, spoil]) => (spoil(dict), dict)) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.constant([]), fc.string(), fc.constant(new Map()), alien) },
)

/** Numbers for settings: in range mostly, and the edges: NaN, ±Infinity, 2^31, negatives, floats, bigints. */
export const number: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: -3, max: 3 }) },
  { weight: 2, arbitrary: fc.integer({ min: 4, max: 40 }) },
  { weight: 2, arbitrary: fc.double() },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 31, 2 ** 31 - 1, -(2 ** 31), -(2 ** 31) - 1, 2 ** 53, 1e300, 0.5, -0) },
  { weight: 1, arbitrary: fc.bigInt({ min: -(2n ** 70n), max: 2n ** 70n }) },
  { weight: 1, arbitrary: fc.oneof(fc.boolean(), fc.string({ maxLength: 3 }), fc.constant(null)) },
)

/** Times: valid Dates mostly, plus out-of-range and invalid ones and other types. */
export const time: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.date({ min: new Date('0001-01-01T00:00:00Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }) },
  { weight: 1, arbitrary: fc.date() },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.constant('2020-01-01'), fc.integer()) },
)

const SETTINGS = ['priority', 'weight', 'nice', 'max_running', 'max_getwork', 'max_retries', 'interval', 'min_gb', 'disabled', 'continuous']

/** Work spec dicts named `specName`: random settings (valid and not) over random data. */
export function specData(specName: fc.Arbitrary<unknown>): fc.Arbitrary<unknown> {
  return fc
    .tuple(
      specName,
      fc.dictionary(fc.constantFrom(...SETTINGS), number, { maxKeys: 3 }),
      fc.option(fc.oneof(name, fc.constant('s')), { nil: undefined }),
      fc.option(fc.oneof(name, fc.constant('')), { nil: undefined }),
      data,
    )
    .map(([specName, settings, then, runtime, rest]) => {
      if (rest === null || typeof rest !== 'object' || Array.isArray(rest) || rest instanceof Map) return rest
      const spec: Record<string, unknown> = { ...(rest as object), ...settings, name: specName }
      if (then !== undefined) spec.then = then
      if (runtime !== undefined) spec.runtime = runtime
      return spec
    })
}

/** Work unit queries, sometimes malformed. */
export const query: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        names: fc.array(key, { maxLength: 3 }),
        statuses: fc.array(fc.oneof(fc.constantFrom(...WORK_UNIT_STATUSES), fc.constant('bogus')), { maxLength: 2 }),
        previousName: key,
        limit: fc.oneof(fc.integer({ min: -2, max: 4 }), fc.double()),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant('all'), fc.constant({ names: 'a' })) },
)

/** Unit meta: priority and notBefore, valid and not. */
export const unitMeta: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ priority: fc.oneof(fc.double(), fc.integer()), notBefore: time }, { requiredKeys: [] }) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.constant(7)) },
)

/** Work spec meta updates for setMeta. */
export const specMeta: fc.Arbitrary<unknown> = fc.record(
  {
    priority: number,
    weight: number,
    paused: fc.oneof(fc.boolean(), fc.constant(1)),
    continuous: fc.boolean(),
    minMemoryGb: number,
    intervalMs: number,
    nextContinuous: time,
    maxRunning: number,
    maxAttemptsReturned: number,
    maxRetries: number,
  },
  { requiredKeys: [] },
)

/** Attempt requests, valid and not. */
export const attemptRequest: fc.Arbitrary<unknown> = fc.oneof(
  {
    weight: 8,
    arbitrary: fc.record(
      {
        numberOfWorkUnits: fc.oneof(fc.integer({ min: -2, max: 5 }), fc.double(), fc.constant(10_001)),
        lifetimeMs: fc.oneof(fc.integer({ min: -10, max: 100_000 }), fc.double(), fc.constant(86_400_001)),
        availableGb: fc.oneof(fc.integer({ min: -1, max: 4 }), fc.double()),
        workSpecs: fc.array(name, { maxLength: 2 }),
        runtimes: fc.array(fc.oneof(fc.constant(''), name), { maxLength: 2 }),
      },
      { requiredKeys: [] },
    ),
  },
  { weight: 1, arbitrary: fc.oneof(fc.constant(undefined), fc.constant(null), fc.constant(3)) },
)

/** Lease lengths and delays in ms. */
export const duration: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 3_600_000 }) },
  { weight: 2, arbitrary: fc.oneof(fc.integer({ min: -5, max: -1 }), fc.double(), fc.constant(86_400_001), fc.constant(1e15)) },
  { weight: 1, arbitrary: fc.oneof(fc.constant(null), fc.string({ maxLength: 2 })) },
)
