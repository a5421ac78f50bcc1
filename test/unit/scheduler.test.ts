import { describe, expect, it } from 'vitest'
import {
  type ChooseWorkSpecOptions,
  type SchedulerCandidate,
  canDoWork,
  canStartContinuous,
  chooseWorkSpec,
  continuousUnitName,
  isForcedChoice,
  unitsToClaim,
} from '../../src/coordinate/scheduler.js'
import { type WorkSpecMeta, defaultWorkSpecMeta } from '../../src/coordinate/work-spec-meta.js'

// A seeded PRNG so that the distribution tests give the same answer on every run.
function mulberry32(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const NOW = new Date(1_700_000_000_000)

function meta(overrides: Partial<WorkSpecMeta> = {}): WorkSpecMeta {
  return { ...defaultWorkSpecMeta(), availableCount: 1, ...overrides }
}

function spec(name: string, overrides: Partial<WorkSpecMeta> = {}): SchedulerCandidate {
  return { name, meta: meta(overrides) }
}

const TRIALS = 1000

/** Runs the scheduler TRIALS times and checks each spec's count is within 3σ of the expected share. */
function expectDistribution(candidates: SchedulerCandidate[], expected: Record<string, number>, seed = 1): void {
  const random = mulberry32(seed)
  const counts: Record<string, number> = {}
  for (let i = 0; i < TRIALS; i++) {
    const name = chooseWorkSpec(candidates, NOW, { random })
    expect(name).not.toBeNull()
    counts[name!] = (counts[name!] ?? 0) + 1
  }
  for (const name of Object.keys(counts)) expect(expected).toHaveProperty(name)
  for (const [name, p] of Object.entries(expected)) {
    const observed = counts[name] ?? 0
    const mean = TRIALS * p
    const sigma = Math.sqrt(TRIALS * p * (1 - p))
    expect(observed, `${name}: ${observed} of ${TRIALS}, expected about ${mean}`).toBeGreaterThanOrEqual(mean - 3 * sigma)
    expect(observed, `${name}: ${observed} of ${TRIALS}, expected about ${mean}`).toBeLessThanOrEqual(mean + 3 * sigma)
  }
}

describe('chooseWorkSpec distribution (go-coordinate scheduler_test)', () => {
  it('finds nothing among no specs', () => {
    expect(chooseWorkSpec([], NOW)).toBeNull()
  })

  it('always chooses the only spec', () => {
    expectDistribution([spec('one')], { one: 1 })
  })

  it('never chooses a spec of weight 0', () => {
    expect(chooseWorkSpec([spec('zero', { weight: 0 })], NOW)).toBeNull()
  })

  it('never chooses a paused spec', () => {
    expect(chooseWorkSpec([spec('paused', { paused: true })], NOW)).toBeNull()
    expectDistribution([spec('paused', { paused: true }), spec('running')], { running: 1 })
  })

  it('never chooses a spec with nothing available', () => {
    expect(chooseWorkSpec([spec('empty', { availableCount: 0 })], NOW)).toBeNull()
    expectDistribution([spec('empty', { availableCount: 0 }), spec('full')], { full: 1 })
  })

  it('never chooses a spec at max_running', () => {
    expect(chooseWorkSpec([spec('capped', { maxRunning: 1, pendingCount: 1 })], NOW)).toBeNull()
    expectDistribution([spec('capped', { maxRunning: 2, pendingCount: 2 }), spec('free')], { free: 1 }, 2)
  })

  it('splits evenly between two equal specs', () => {
    expectDistribution([spec('a', { weight: 1 }), spec('b', { weight: 1 })], { a: 0.5, b: 0.5 }, 3)
  })

  it('splits 1:10 by weight', () => {
    expectDistribution([spec('light', { weight: 1 }), spec('heavy', { weight: 10 })], { light: 1 / 11, heavy: 10 / 11 }, 4)
  })

  it('favours the spec that lags its share of pending units', () => {
    expectDistribution(
      [spec('light', { weight: 1 }), spec('heavy', { weight: 10, pendingCount: 2 })],
      { light: 3 / 11, heavy: 8 / 11 },
      5,
    )
  })

  it('drops a spec far over its share', () => {
    expectDistribution(
      [spec('a', { weight: 1 }), spec('b', { weight: 5 }), spec('c', { weight: 1, pendingCount: 99 })],
      { a: 1 / 6, b: 5 / 6, c: 0 },
      6,
    )
  })

  it('lets a continuous spec with no units compete equally', () => {
    const continuous = spec('continuous', { continuous: true, canBeContinuous: true, availableCount: 0 })
    expectDistribution([continuous, spec('normal')], { continuous: 0.5, normal: 0.5 }, 7)
  })

  it('excludes a continuous spec that already has a unit pending', () => {
    const continuous = spec('continuous', { continuous: true, canBeContinuous: true, availableCount: 0, pendingCount: 1 })
    expectDistribution([continuous, spec('normal')], { continuous: 0, normal: 1 }, 8)
  })

  it('splits three equal specs in thirds', () => {
    expectDistribution([spec('a'), spec('b'), spec('c')], { a: 1 / 3, b: 1 / 3, c: 1 / 3 }, 9)
  })

  it('always chooses the higher priority', () => {
    expectDistribution([spec('low', { weight: 100 }), spec('high', { priority: 10, weight: 1 })], { high: 1, low: 0 }, 10)
  })

  it('passes over a higher-priority spec with no work', () => {
    expectDistribution(
      [spec('idle', { priority: 10, availableCount: 0 }), spec('a'), spec('b')],
      { idle: 0, a: 0.5, b: 0.5 },
      11,
    )
  })
})

describe('chooseWorkSpec filters', () => {
  it('skips specs needing more memory than the worker offers', () => {
    const big = spec('big', { minMemoryGb: 8 })
    expect(chooseWorkSpec([big], NOW, { availableGb: 4 })).toBeNull()
    expect(chooseWorkSpec([big], NOW, { availableGb: 8 })).toBe('big')
    expect(chooseWorkSpec([big], NOW, {})).toBe('big')
    expect(chooseWorkSpec([big, spec('small', { minMemoryGb: 1 })], NOW, { availableGb: 2 })).toBe('small')
  })

  it('keeps only the named specs, ignoring unknown names', () => {
    const specs = [spec('a'), spec('b')]
    expectDistribution(specs, { a: 0.5, b: 0.5 }, 12)
    for (let i = 0; i < 20; i++) expect(chooseWorkSpec(specs, NOW, { workSpecs: ['b', 'nope'] })).toBe('b')
    expect(chooseWorkSpec(specs, NOW, { workSpecs: ['nope'] })).toBeNull()
    expect(chooseWorkSpec(specs, NOW, { workSpecs: [], random: () => 0 })).toBe('a')
  })

  it('keeps only specs of the requested runtimes, matched exactly', () => {
    const specs = [spec('py'), spec('go', { runtime: 'go' }), spec('go1', { runtime: 'go1.21' })]
    for (let i = 0; i < 20; i++) expect(chooseWorkSpec(specs, NOW, { runtimes: ['go'] })).toBe('go')
    for (let i = 0; i < 20; i++) expect(chooseWorkSpec(specs, NOW, { runtimes: [''] })).toBe('py')
    expect(chooseWorkSpec(specs, NOW, { runtimes: ['java'] })).toBeNull()
    expect(chooseWorkSpec(specs, NOW, { runtimes: [], random: () => 0.99 })).toBe('go1')
  })

  it('filters before applying priority, so an excluded spec does not block lower ones', () => {
    const specs = [spec('high', { priority: 5, minMemoryGb: 16, runtime: 'go' }), spec('low')]
    expect(chooseWorkSpec(specs, NOW, { availableGb: 1 })).toBe('low')
    expect(chooseWorkSpec(specs, NOW, { runtimes: [''] })).toBe('low')
    expect(chooseWorkSpec(specs, NOW, { workSpecs: ['low'] })).toBe('low')
    expect(chooseWorkSpec(specs, NOW)).toBe('high')
  })

  it('maps the random number onto the score buckets in order', () => {
    const specs = [spec('a', { weight: 1 }), spec('b', { weight: 3 })]
    expect(chooseWorkSpec(specs, NOW, { random: () => 0 })).toBe('a')
    expect(chooseWorkSpec(specs, NOW, { random: () => 0.2499 })).toBe('a')
    expect(chooseWorkSpec(specs, NOW, { random: () => 0.25 })).toBe('b')
    expect(chooseWorkSpec(specs, NOW, { random: () => 1 - Number.EPSILON })).toBe('b')
  })
})

describe('canDoWork and canStartContinuous', () => {
  const continuous = (overrides: Partial<WorkSpecMeta> = {}): WorkSpecMeta =>
    meta({ continuous: true, canBeContinuous: true, availableCount: 0, ...overrides })

  it('lets a dry continuous spec start a unit once nextContinuous has come', () => {
    expect(canStartContinuous(continuous(), NOW)).toBe(true)
    expect(canStartContinuous(continuous({ nextContinuous: new Date(NOW.getTime() + 1) }), NOW)).toBe(false)
    expect(canStartContinuous(continuous({ nextContinuous: NOW }), NOW)).toBe(true)
    expect(canStartContinuous(continuous({ nextContinuous: new Date(NOW.getTime() - 1) }), NOW)).toBe(true)
  })

  it('does not start a continuous unit while real units are available or pending', () => {
    expect(canStartContinuous(continuous({ availableCount: 1 }), NOW)).toBe(false)
    expect(canStartContinuous(continuous({ pendingCount: 1 }), NOW)).toBe(false)
    expect(canStartContinuous(meta({ availableCount: 0 }), NOW)).toBe(false)
  })

  it('gives work only when unpaused, weighted, under max_running and with something to do', () => {
    expect(canDoWork(meta(), NOW)).toBe(true)
    expect(canDoWork(meta({ paused: true }), NOW)).toBe(false)
    expect(canDoWork(meta({ weight: 0 }), NOW)).toBe(false)
    expect(canDoWork(meta({ weight: -1 }), NOW)).toBe(false)
    expect(canDoWork(meta({ maxRunning: 3, pendingCount: 2 }), NOW)).toBe(true)
    expect(canDoWork(meta({ maxRunning: 3, pendingCount: 3 }), NOW)).toBe(false)
    expect(canDoWork(meta({ availableCount: 0 }), NOW)).toBe(false)
    expect(canDoWork(continuous(), NOW)).toBe(true)
    expect(canDoWork(continuous({ paused: true }), NOW)).toBe(false)
  })
})

describe('unitsToClaim', () => {
  it('takes one unit unless more are asked for', () => {
    expect(unitsToClaim(meta(), undefined)).toBe(1)
    expect(unitsToClaim(meta(), 0)).toBe(1)
    expect(unitsToClaim(meta(), -5)).toBe(1)
    expect(unitsToClaim(meta(), 10)).toBe(10)
    expect(unitsToClaim(meta(), 2.7)).toBe(2)
    expect(unitsToClaim(meta(), Number.NaN)).toBe(1)
  })

  it('is capped by max_getwork', () => {
    expect(unitsToClaim(meta({ maxAttemptsReturned: 3 }), 10)).toBe(3)
    expect(unitsToClaim(meta({ maxAttemptsReturned: 3 }), 2)).toBe(2)
  })

  it('is capped by the room left under max_running', () => {
    expect(unitsToClaim(meta({ maxRunning: 5, pendingCount: 2 }), 10)).toBe(3)
    expect(unitsToClaim(meta({ maxRunning: 5, pendingCount: 5 }), 10)).toBe(0)
    expect(unitsToClaim(meta({ maxRunning: 5, pendingCount: 7 }), 10)).toBe(0)
    expect(unitsToClaim(meta({ maxRunning: 5, pendingCount: 1, maxAttemptsReturned: 2 }), 10)).toBe(2)
  })
})

describe('continuousUnitName', () => {
  it('writes unix seconds and three-digit milliseconds', () => {
    expect(continuousUnitName(new Date(5_500))).toBe('5.500')
    expect(continuousUnitName(new Date(0))).toBe('0.000')
    expect(continuousUnitName(new Date(7))).toBe('0.007')
    expect(continuousUnitName(new Date(1_234_567_890_123))).toBe('1234567890.123')
  })

  it('floors times before the epoch as go does', () => {
    expect(continuousUnitName(new Date(-1))).toBe('-1.999')
  })
})

describe('isForcedChoice', () => {
  it('holds for a lone spec', () => {
    const only = spec('only')
    expect(isForcedChoice([only], only)).toBe(true)
  })

  it('never holds for a chosen spec with max_running or continuous, whose turn depends on counts or time', () => {
    const capped = spec('capped', { maxRunning: 5 })
    expect(isForcedChoice([capped], capped)).toBe(false)
    const continuous = spec('continuous', { continuous: true, canBeContinuous: true })
    expect(isForcedChoice([continuous], continuous)).toBe(false)
  })

  it('does not hold while another admitted, unpaused spec has a higher or equal priority', () => {
    const chosen = spec('chosen', { priority: 5 })
    expect(isForcedChoice([chosen, spec('higher', { priority: 6 })], chosen)).toBe(false)
    expect(isForcedChoice([spec('equal', { priority: 5 }), chosen], chosen)).toBe(false)
    // Counts do not matter: an empty higher spec may get units at any time.
    expect(isForcedChoice([chosen, spec('empty', { priority: 6, availableCount: 0 })], chosen)).toBe(false)
    // Nor do the other spec's caps: it could hand out work.
    expect(isForcedChoice([chosen, spec('capped', { priority: 6, maxRunning: 1, pendingCount: 1 })], chosen)).toBe(false)
  })

  it('holds when every higher or equal spec is paused, has weight 0, or is not admitted by the request', () => {
    const chosen = spec('chosen', { priority: 5, runtime: 'go', minMemoryGb: 2 })
    const paused = spec('paused', { priority: 9, paused: true })
    const weightless = spec('weightless', { priority: 9, weight: 0 })
    expect(isForcedChoice([paused, chosen], chosen)).toBe(true)
    expect(isForcedChoice([chosen, weightless], chosen)).toBe(true)

    const named = spec('named', { priority: 9 })
    expect(isForcedChoice([chosen, named], chosen, { workSpecs: ['chosen'] })).toBe(true)
    expect(isForcedChoice([chosen, named], chosen, { workSpecs: ['chosen', 'named'] })).toBe(false)
    expect(isForcedChoice([chosen, named], chosen, { workSpecs: [] })).toBe(false)

    const python = spec('python', { priority: 9, runtime: '' })
    expect(isForcedChoice([chosen, python], chosen, { runtimes: ['go'] })).toBe(true)
    expect(isForcedChoice([chosen, python], chosen, { runtimes: ['go', ''] })).toBe(false)
    expect(isForcedChoice([chosen, python], chosen)).toBe(false)

    const big = spec('big', { priority: 9, minMemoryGb: 8 })
    expect(isForcedChoice([chosen, big], chosen, { availableGb: 4 })).toBe(true)
    expect(isForcedChoice([chosen, big], chosen, { availableGb: 8 })).toBe(false)
    expect(isForcedChoice([chosen, big], chosen)).toBe(false)

    expect(isForcedChoice([paused, weightless, chosen, named, python, big], chosen, { workSpecs: ['chosen', 'paused', 'weightless', 'python', 'big'], runtimes: ['go', ''], availableGb: 4 })).toBe(false)
    expect(isForcedChoice([paused, weightless, chosen, named, python, big], chosen, { workSpecs: ['chosen', 'paused', 'weightless', 'big'], availableGb: 4 })).toBe(true)
  })

  it('holds over any number of lower-priority specs, whatever they hold', () => {
    const chosen = spec('chosen', { priority: 1 })
    const lower = [
      spec('a', { priority: 0 }),
      spec('b', { priority: -5, weight: 1000 }),
      spec('c', { priority: 0, continuous: true, canBeContinuous: true }),
      spec('d', { priority: 0, maxRunning: 1 }),
    ]
    expect(isForcedChoice([...lower, chosen], chosen)).toBe(true)
  })

  it('only says so when the scheduler would pick the chosen spec whatever the counts (randomized)', () => {
    const random = mulberry32(42)
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
    let forced = 0
    for (let trial = 0; trial < 2000; trial++) {
      const candidates = Array.from({ length: 1 + Math.floor(random() * 4) }, (_, i) =>
        spec(`s${i}`, {
          priority: pick([0, 1, 2]),
          weight: pick([0, 1, 20]),
          paused: random() < 0.2,
          runtime: pick(['', 'go']),
          minMemoryGb: pick([0, 8]),
          maxRunning: pick([0, 0, 0, 2]),
        }),
      )
      const options: ChooseWorkSpecOptions = {
        workSpecs: random() < 0.3 ? candidates.filter(() => random() < 0.5).map((c) => c.name) : undefined,
        runtimes: random() < 0.3 ? [pick(['', 'go'])] : undefined,
        availableGb: random() < 0.3 ? 4 : undefined,
      }
      const chosenName = chooseWorkSpec(candidates, NOW, { ...options, random })
      const chosen = candidates.find((c) => c.name === chosenName)
      if (!chosen || !isForcedChoice(candidates, chosen, options)) continue
      forced++
      // Shuffle the others' counts: as long as the chosen spec has work, it must still win.
      for (let round = 0; round < 10; round++) {
        for (const c of candidates) {
          if (c === chosen) continue
          c.meta.availableCount = pick([0, 1, 100])
          c.meta.pendingCount = pick([0, 1, 100])
        }
        chosen.meta.pendingCount = pick([0, 1, 100])
        expect(chooseWorkSpec(candidates, NOW, { ...options, random })).toBe(chosen.name)
      }
    }
    expect(forced).toBeGreaterThan(100)
  })
})
