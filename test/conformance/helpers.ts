import { expect } from 'vitest'
import {
  type Attempt,
  type Coordinate,
  type DataDict,
  type DataValue,
  type FakeClock,
  GoneError,
  type Namespace,
  NoSuchWorkSpecError,
  NoSuchWorkUnitError,
  SECOND,
  HOUR,
  Tuple,
  Uuid,
  type WorkSpec,
  type WorkUnit,
  type WorkUnitKey,
  type WorkUnitMeta,
  type WorkUnitStatus,
  type Worker,
} from '../../src/coordinate/index.js'

/** What every conformance case works with; made fresh for each test by the suite. */
export interface ConformanceContext {
  /** The Coordinate under test, shared by every case of one suite run. */
  coordinate: Coordinate
  /** The one clock of the suite run: never reset, so cases only use relative times. */
  clock: FakeClock
  /** A namespace named after the test, empty at the start and destroyed afterwards. */
  namespace: Namespace
  /** The test's title, which is also the namespace's name. */
  testName: string
}

/** Case files get this: call it inside a test (not while registering) to get the context. */
export type ContextGetter = () => ConformanceContext

/** The inputs of go-coordinate's SimpleTestSetup; each part is made only if asked for. */
export interface SimpleTestSetupOptions {
  /** Another namespace to use instead of the test's own. */
  namespace?: Namespace
  /** Creates a worker with this name. */
  workerName?: string
  /** Creates a spec with this name (overrides `workSpecData.name`). */
  workSpecName?: string
  /** Creates a spec from this dict (`min_gb: 1` is added unless present). */
  workSpecData?: DataDict
  /** Adds one unit with this key to the spec. */
  workUnitName?: string
  workUnitData?: DataDict
  workUnitMeta?: Partial<WorkUnitMeta>
}

/** The keys MakeWorkUnits creates, each left in the state it is named after. */
export const MADE_UNIT_NAMES = ['available', 'pending', 'finished', 'failed', 'expired', 'retryable', 'delayed'] as const
export type MadeUnitName = (typeof MADE_UNIT_NAMES)[number]

/** Port of go-coordinate's coordinatetest.SimpleTestSetup and its helper methods. */
export class SimpleTestSetup {
  #worker: Worker | undefined
  #workSpec: WorkSpec | undefined
  #workUnit: WorkUnit | undefined

  private constructor(
    readonly clock: FakeClock,
    readonly namespace: Namespace,
  ) {}

  /** Creates the namespace's spec, unit and worker as the options say (SetUp). */
  static async setUp(ctx: ConformanceContext, options: SimpleTestSetupOptions = {}): Promise<SimpleTestSetup> {
    const sts = new SimpleTestSetup(ctx.clock, options.namespace ?? ctx.namespace)
    if (options.workSpecName !== undefined || options.workSpecData !== undefined) {
      const data: DataDict = { ...(options.workSpecData ?? {}) }
      if (!('min_gb' in data)) data.min_gb = 1
      if (options.workSpecName !== undefined) data.name = options.workSpecName
      const spec = await sts.namespace.setWorkSpec(data)
      expect(spec.name).toBe(data.name)
      sts.#workSpec = spec
    }
    if (sts.#workSpec !== undefined && options.workUnitName !== undefined) {
      const unit = await sts.#workSpec.addWorkUnit(options.workUnitName, options.workUnitData ?? {}, options.workUnitMeta ?? {})
      expect(unit.name).toBe(options.workUnitName)
      expect(unit.workSpec.name).toBe(sts.#workSpec.name)
      sts.#workUnit = unit
    }
    if (options.workerName !== undefined) {
      const worker = await sts.namespace.worker(options.workerName)
      expect(worker.name).toBe(options.workerName)
      sts.#worker = worker
    }
    return sts
  }

  get worker(): Worker {
    if (this.#worker === undefined) throw new Error('this SimpleTestSetup has no worker')
    return this.#worker
  }

  /** The spec CheckWorkUnitOrder expects attempts from; cases may point it at another spec. */
  get workSpec(): WorkSpec {
    if (this.#workSpec === undefined) throw new Error('this SimpleTestSetup has no work spec')
    return this.#workSpec
  }

  set workSpec(spec: WorkSpec) {
    this.#workSpec = spec
  }

  get workUnit(): WorkUnit {
    if (this.#workUnit === undefined) throw new Error('this SimpleTestSetup has no work unit')
    return this.#workUnit
  }

  /** Adds a unit with empty data and default meta. */
  addWorkUnit(key: WorkUnitKey): Promise<WorkUnit> {
    return this.workSpec.addWorkUnit(key, {}, {})
  }

  /**
   * MakeWorkUnits: one unit per MADE_UNIT_NAMES entry, driven into that state through an attempt
   * made with makeAttempt's default lifetime (15 minutes in this API).
   */
  async makeWorkUnits(): Promise<Record<MadeUnitName, WorkUnit>> {
    const result: Partial<Record<MadeUnitName, WorkUnit>> = {}
    for (const key of MADE_UNIT_NAMES) {
      const unit = await this.addWorkUnit(key)
      result[key] = unit
      if (key === 'available') continue
      const attempt = await this.worker.makeAttempt(unit)
      switch (key) {
        case 'pending':
          break // left running
        case 'finished':
          await attempt.finish()
          break
        case 'failed':
          await attempt.fail()
          break
        case 'expired':
          await attempt.expire()
          break
        case 'retryable':
          await attempt.retry(undefined, 0)
          break
        case 'delayed':
          await attempt.retry(undefined, 24 * HOUR)
          break
      }
    }
    return result as Record<MadeUnitName, WorkUnit>
  }

  /** CheckUnitStatus: the setup's unit has this status. */
  async checkUnitStatus(status: WorkUnitStatus): Promise<void> {
    expect(await this.workUnit.status()).toBe(status)
  }

  /** RequestOneAttempt: a default request returns exactly one attempt. */
  async requestOneAttempt(): Promise<Attempt> {
    const attempts = await this.worker.requestAttempts({})
    expect(attempts).toHaveLength(1)
    return attempts[0]!
  }

  /** RequestNoAttempts: a default request returns nothing (and no error). */
  async requestNoAttempts(): Promise<void> {
    const attempts = await this.worker.requestAttempts({})
    expect(attempts.map(describeAttempt)).toEqual([])
  }

  /**
   * CheckWorkUnitOrder: advance 5 s, request one attempt, record its unit and finish it, until a
   * request comes back empty; the recorded units are exactly `names`, in order.
   */
  async checkWorkUnitOrder(...names: string[]): Promise<void> {
    const processed: string[] = []
    // A bound well past any case's unit count, so a backend that never runs dry fails instead of hanging.
    for (let i = 0; i < 100; i++) {
      this.clock.advance(5 * SECOND)
      const attempts = await this.worker.requestAttempts({})
      if (attempts.length === 0) break
      expect(attempts).toHaveLength(1)
      const attempt = attempts[0]!
      expect(attempt.workUnit.workSpec.name).toBe(this.workSpec.name)
      processed.push(attempt.workUnit.name)
      await attempt.finish()
    }
    expect(processed).toEqual(names)
  }
}

/** "spec/unit by worker", for readable failure messages. */
export function describeAttempt(attempt: Attempt): string {
  return `${attempt.workUnit.workSpec.name}/${attempt.workUnit.name} by ${attempt.worker.name}`
}

/** AttemptMatches: the same worker name, work unit name and work spec name. */
export function expectAttemptMatches(actual: Attempt | null | undefined, expected: Attempt): void {
  expect(actual).toBeTruthy()
  expect(describeAttempt(actual!)).toBe(describeAttempt(expected))
}

/** UnitHasPriority. */
export async function expectUnitPriority(unit: WorkUnit, priority: number): Promise<void> {
  expect((await unit.meta()).priority).toBe(priority)
}

/** The names of some units (or attempts' units), in the order given. */
export function unitNames(units: readonly WorkUnit[]): string[] {
  return units.map((unit) => unit.name)
}

/** WithinDuration: two times at most `toleranceMs` apart. */
export function expectTimeNear(actual: Date | null, expected: Date, toleranceMs = 1): void {
  expect(actual).toBeInstanceOf(Date)
  const delta = Math.abs(actual!.getTime() - expected.getTime())
  expect(delta, `${actual!.toISOString()} vs ${expected.toISOString()}`).toBeLessThanOrEqual(toleranceMs)
}

/** The clock's now plus `ms`. */
export function later(clock: FakeClock, ms: number): Date {
  return new Date(clock.now().getTime() + ms)
}

/** Runs `fn` (which may throw synchronously or reject) and returns what it threw; fails if nothing. */
export async function caught(fn: () => unknown): Promise<unknown> {
  try {
    await fn()
  } catch (error) {
    return error
  }
  expect.unreachable('expected an error, but the call succeeded')
}

/** Runs `fn` and checks that it fails with an instance of `errorClass`, which it returns. */
export async function expectError<E extends Error>(fn: () => unknown, errorClass: new (...args: never[]) => E): Promise<E> {
  const error = await caught(fn)
  expect(error).toBeInstanceOf(errorClass)
  return error as E
}

/**
 * The outcomes go-coordinate accepts from an object whose spec or unit was deleted: GoneError,
 * NoSuchWorkUnitError for `workUnit`, or NoSuchWorkSpecError for `workSpec` (name-based backends).
 */
export async function expectGone(fn: () => unknown, names: { workSpec?: string; workUnit?: string }): Promise<void> {
  const error = await caught(fn)
  if (error instanceof GoneError) return
  if (names.workUnit !== undefined && error instanceof NoSuchWorkUnitError) {
    expect(error.workUnitName).toBe(names.workUnit)
    return
  }
  if (names.workSpec !== undefined && error instanceof NoSuchWorkSpecError) {
    expect(error.workSpecName).toBe(names.workSpec)
    return
  }
  expect.unreachable(`expected GoneError or a no-such error for ${JSON.stringify(names)}, got ${String(error)}`)
}

/**
 * Data that only survives a store exactly if every type is kept: bytes apart from text, tuples
 * apart from lists, UUIDs, empty containers, maps with non-string keys, integers, floats and
 * 64-bit integers as bigint.
 */
export function exoticData(): DataDict {
  return {
    bytes: Uint8Array.of(0, 1, 0x7f, 0x80, 0xff),
    emptyBytes: new Uint8Array(0),
    text: 'h\u00e9llo, w\u00f6rld \u2713',
    sameAsBytes: 'same',
    sameAsText: new TextEncoder().encode('same'),
    tuple: Tuple.of('a', 1, Uint8Array.of(2), Tuple.of()),
    emptyTuple: Tuple.of(),
    uuid: Uuid.parse('12345678-9abc-def0-1234-56789abcdef0'),
    emptyList: [],
    emptyDict: {},
    list: [1, 'two', [3, [4]], { five: 5 }],
    nested: { a: { b: { c: [null, true, false], d: {} } } },
    intKeys: new Map<DataValue, DataValue>([
      [1, 'one'],
      [-2, Tuple.of('minus', 'two')],
    ]),
    int: 42,
    zero: 0,
    negative: -17,
    float: 1.5,
    smallFloat: 0.1,
    negativeFloat: -2.25,
    maxSafe: Number.MAX_SAFE_INTEGER,
    minSafe: Number.MIN_SAFE_INTEGER,
    big: 2n ** 63n,
    biggest: 2n ** 64n - 1n,
    bigNegative: -(2n ** 63n) - 1n,
    nothing: null,
    yes: true,
    no: false,
  }
}

/** Data read back equals `expected` exactly: same types (Uint8Array, Tuple, Uuid, Map, bigint) everywhere. */
export function expectExactData(actual: DataDict, expected: DataDict): void {
  expect(actual).toStrictEqual(expected)
}

/** A unit's observable state, to show that a rejected call changed nothing. */
export async function attemptState(attempt: Attempt): Promise<Record<string, unknown>> {
  const unit = attempt.workUnit
  const active = await unit.activeAttempt()
  return {
    attemptStatus: await attempt.status(),
    attemptData: await attempt.data(),
    endTime: await attempt.endTime(),
    expirationTime: await attempt.expirationTime(),
    unitStatus: await unit.status(),
    unitData: await unit.data(),
    unitMeta: await unit.meta(),
    activeAttemptId: active?.id ?? null,
    workerActive: (await attempt.worker.activeAttempts()).map((a) => a.id),
  }
}
