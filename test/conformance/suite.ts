import { afterEach, beforeAll, beforeEach, describe } from 'vitest'
import type { Coordinate, FakeClock } from '../../src/coordinate/index.js'
import { attemptCases } from './attempt-cases.js'
import { batchCompletionCases } from './batch-completion-cases.js'
import { chainingCases } from './chaining-cases.js'
import { concurrencyCases } from './concurrency-cases.js'
import type { ConformanceContext, ContextGetter } from './helpers.js'
import { leaseHandoverCases } from './lease-handover-cases.js'
import { namespaceCases } from './namespace-cases.js'
import { renewalCases } from './renewal-cases.js'
import { schedulingCases } from './scheduling-cases.js'
import { workSpecCases } from './work-spec-cases.js'
import { workUnitCases } from './work-unit-cases.js'
import { workerCases } from './worker-cases.js'

/** What a backend hands the suite: its Coordinate and the FakeClock that Coordinate reads. */
export interface ConformanceTarget {
  coordinate: Coordinate
  clock: FakeClock
}

/**
 * Registers the backend-agnostic conformance suite (go-coordinate's coordinatetest, plus the
 * fixes recorded in docs/design.md) under `describe(label)`.
 *
 * `open` runs once, in beforeAll; every case shares that Coordinate and its one FakeClock, which
 * is never reset (cases use times relative to now, as go-coordinate's suite does). Each case gets
 * a namespace of its own, named after the test and destroyed after it. Closing the Coordinate is
 * left to whoever opened it.
 */
export function runConformanceSuite(label: string, open: () => Promise<ConformanceTarget>): void {
  describe(label, () => {
    let target: ConformanceTarget | undefined
    let current: ConformanceContext | undefined

    beforeAll(async () => {
      target = await open()
    })

    beforeEach(async (test) => {
      if (target === undefined) throw new Error('the conformance target did not open')
      // A port of a Go test runs in a namespace named after it, as in go-coordinate.
      const testName = /\((Test\w+)\)$/.exec(test.task.name)?.[1] ?? test.task.name
      // Start from an empty namespace even if an earlier run left one behind.
      await (await target.coordinate.namespace(testName)).destroy()
      const namespace = await target.coordinate.namespace(testName)
      current = { coordinate: target.coordinate, clock: target.clock, namespace, testName }
    })

    afterEach(async () => {
      const done = current
      current = undefined
      // Looked up again by name: a case may have destroyed its namespace already.
      if (done !== undefined) await (await done.coordinate.namespace(done.testName)).destroy()
    })

    const ctx: ContextGetter = () => {
      if (current === undefined) throw new Error('the conformance context is only available inside a test')
      return current
    }

    describe('namespace', () => namespaceCases(ctx))
    describe('work spec', () => workSpecCases(ctx))
    describe('work unit', () => workUnitCases(ctx))
    describe('scheduling', () => schedulingCases(ctx))
    describe('attempt', () => attemptCases(ctx))
    describe('chaining', () => chainingCases(ctx))
    describe('batch completion', () => batchCompletionCases(ctx))
    describe('renewal', () => renewalCases(ctx))
    describe('lease handover', () => leaseHandoverCases(ctx))
    describe('worker', () => workerCases(ctx))
    describe('concurrency', () => concurrencyCases(ctx))
  })
}
