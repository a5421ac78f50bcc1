import { afterAll, describe, expect, it } from 'vitest'
import { cacheCoordinate } from '../../src/cache/index.js'
import type { AttemptCompletion, Namespace } from '../../src/coordinate/api.js'
import { NotPendingError } from '../../src/coordinate/errors.js'
import { settle } from '../../src/coordinate/coalescer.js'
import { WorkBatches } from '../../src/jobserver/work-batches.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

const { coordinate: backend, clock } = await openTestCoordinate()
const cache = cacheCoordinate(backend, { clock, changes: backend.changes(), closeBackend: false })
afterAll(async () => {
  await cache.close()
  await backend.close()
})

/** A namespace whose completeAttempts calls are recorded (how many attempts each carried). */
async function countedNamespace(name: string): Promise<{ ns: Namespace; calls: number[] }> {
  const ns = await cache.namespace(name)
  const calls: number[] = []
  const complete = ns.completeAttempts.bind(ns)
  ns.completeAttempts = (completions: readonly AttemptCompletion[]) => {
    calls.push(completions.length)
    return complete(completions)
  }
  return { ns, calls }
}

async function claimOneEach(ns: Namespace, workers: number, units: number) {
  const spec = await ns.setWorkSpec({ name: 's' })
  await spec.addWorkUnits(Array.from({ length: units }, (_, i) => ({ key: `u${i}`, data: { i } })))
  return Promise.all(Array.from({ length: workers }, async (_, w) => (await (await ns.worker(`w${w}`)).requestAttempts({ numberOfWorkUnits: 1 }))[0]!))
}

describe('WorkBatches', () => {
  it('finishes completions that arrive together in fewer calls, each unit finished with its own data', async () => {
    const { ns, calls } = await countedNamespace('together')
    const batches = new WorkBatches(ns)
    const attempts = await claimOneEach(ns, 6, 6)
    await Promise.all(attempts.map((attempt, i) => batches.complete(attempt, 'finished', { done: i })))
    // The first two go alone at once (two calls may be in flight); the four made while they ran share the next.
    expect(calls).toEqual([1, 1, 4])
    const spec = await ns.workSpec('s')
    const snapshots = await spec.workUnitSnapshots(attempts.map((a) => a.workUnit.key))
    const byKey = new Map(snapshots.map((s) => [Buffer.from(s.key).toString(), [s.state, s.attemptData]]))
    expect(attempts.map((a) => byKey.get(Buffer.from(a.workUnit.key).toString()))).toEqual(attempts.map((_, i) => ['finished', { done: i }]))
  })

  it('gives the one attempt no longer pending its error, and still finishes the others of its batch', async () => {
    const { ns } = await countedNamespace('one-gone')
    const batches = new WorkBatches(ns)
    const attempts = await claimOneEach(ns, 4, 4)
    // Another request already failed the second.
    await attempts[1]!.fail({ by: 'elsewhere' })
    const first = batches.complete(attempts[0]!, 'finished', undefined)
    const outcomes = await Promise.all([first, ...attempts.slice(1).map((a) => batches.complete(a, 'finished', undefined))].map((p) => settle(() => p)))
    expect(outcomes.map((o) => o.ok)).toEqual([true, false, true, true])
    expect(outcomes[1]!.ok === false && outcomes[1]!.error).toBeInstanceOf(NotPendingError)
    const states = await Promise.all(attempts.map((a) => a.status()))
    expect(states).toEqual(['finished', 'failed', 'finished', 'finished'])
  })

  it('tries each completion alone when a batch fails for one of them for another reason, so only that one fails', async () => {
    const { ns } = await countedNamespace('one-refused')
    const attempts = await claimOneEach(ns, 4, 4)
    const refused = attempts[2]!
    // A failure tied to one completion that is not NotPending (a chaining error, say).
    const complete = ns.completeAttempts.bind(ns)
    ns.completeAttempts = async (completions) => {
      if (completions.some((c) => c.attempt.id === refused.id)) throw new Error('refused for this unit')
      return complete(completions)
    }
    const batches = new WorkBatches(ns)
    const outcomes = await Promise.all(attempts.map((a) => settle(() => batches.complete(a, 'finished', undefined))))
    expect(outcomes.map((o) => o.ok)).toEqual([true, true, false, true])
    expect(outcomes[2]!.ok === false && (outcomes[2]!.error as Error).message).toBe('refused for this unit')
    expect(await Promise.all(attempts.map((a) => a.status()))).toEqual(['finished', 'finished', 'pending', 'finished'])
  })
})
