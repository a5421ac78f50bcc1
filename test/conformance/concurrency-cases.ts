import { expect, it } from 'vitest'
import type { Namespace, Worker } from '../../src/coordinate/index.js'
import { type ContextGetter, SimpleTestSetup } from './helpers.js'

const POOL = 8

/** A random 8-letter worker name not in `taken`. */
function randomWorkerName(taken: Set<string>): string {
  for (;;) {
    let name = ''
    for (let i = 0; i < 8; i++) name += String.fromCharCode(65 + Math.floor(Math.random() * 26))
    if (!taken.has(name)) {
      taken.add(name)
      return name
    }
  }
}

async function createWorkers(namespace: Namespace): Promise<Worker[]> {
  const taken = new Set<string>()
  return Promise.all(Array.from({ length: POOL }, () => namespace.worker(randomWorkerName(taken))))
}

/** go-coordinate coordinatetest/performance.go: many clients at once. */
export function concurrencyCases(ctx: ContextGetter): void {
  it('workers claiming at once each get different units and do every unit exactly once (TestConcurrentExecution)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    const numUnits = 100
    for (let i = 0; i < numUnits; i++) await sts.addWorkUnit(`u${i}`)

    const workers = await createWorkers(sts.namespace)
    expect(new Set(workers.map((w) => w.name)).size).toBe(POOL)

    // Each worker loops request/finish until a request comes back empty.
    const results = await Promise.allSettled(
      workers.map(async (worker) => {
        const done: string[] = []
        for (;;) {
          const attempts = await worker.requestAttempts({})
          if (attempts.length === 0) return done
          for (const attempt of attempts) {
            done.push(attempt.workUnit.name)
            await attempt.finish()
          }
        }
      }),
    )
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))
    expect(failures).toEqual([])

    const doneBy = new Map<string, string>()
    const duplicates: string[] = []
    results.forEach((result, i) => {
      if (result.status !== 'fulfilled') return
      for (const name of result.value) {
        const other = doneBy.get(name)
        if (other !== undefined) duplicates.push(`${name} done by both ${other} and ${workers[i]!.name}`)
        else doneBy.set(name, workers[i]!.name)
      }
    })
    expect(duplicates).toEqual([])
    const missing = Array.from({ length: numUnits }, (_, i) => `u${i}`).filter((name) => !doneBy.has(name))
    expect(missing).toEqual([])

    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ finished: numUnits })
  })

  // POOL × 1000 single upserts, each an HTTP request over REST: seconds on a quiet machine,
  // past the default 30 s when the suite shares two cores with other work. The case tests
  // correctness under contention, not speed, hence its longer timeout.
  it('adding the same units from many callers at once leaves each unit once, without errors (TestAddSameUnit)', async () => {
    const sts = await SimpleTestSetup.setUp(ctx(), { workSpecName: 'spec' })
    const numUnits = 1000
    const results = await Promise.allSettled(
      Array.from({ length: POOL }, async () => {
        for (let i = 0; i < numUnits; i++) {
          await sts.workSpec.addWorkUnit(`unit${String(i).padStart(3, '0')}`, {}, {})
        }
      }),
    )
    const failures = results.flatMap((r) => (r.status === 'rejected' ? [String(r.reason)] : []))
    expect(failures).toEqual([])
    expect(await sts.workSpec.countWorkUnitStatus()).toEqual({ available: numUnits })
  }, 120_000)
}
