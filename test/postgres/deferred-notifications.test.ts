import pg from 'pg'
import { afterAll, describe, expect, it } from 'vitest'
import type { Attempt } from '../../src/coordinate/api.js'
import type { ChangeEvent, WorkUnitsChanged } from '../../src/coordinate/change-feed.js'
import { openCoordinate } from '../../src/postgres/open.js'
import type { PostgresCoordinate } from '../../src/postgres/coordinate.js'
import type { PostgresNamespace } from '../../src/postgres/namespace.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// Claims and completions call the stored functions of src/postgres/sql/, which are quiet (the notify
// triggers stay silent), and the library announces the same payload after commit
// (src/postgres/deferred-notifications.ts). `writer` makes the changes; `listener`, another
// Coordinate on the same database, hears them through its change feed.

const bytes = (key: string) => new Uint8Array(Buffer.from(key))
const keysOf = (attempts: readonly Attempt[]) => attempts.map((a) => bytes(a.workUnit.name))

/** Collects every event of a feed from now on, and awaits the first one that `match` accepts. */
class Recorder {
  readonly events: ChangeEvent[] = []
  readonly #waiters: { match: (e: ChangeEvent) => boolean; resolve: (e: ChangeEvent) => void }[] = []
  readonly stop: () => void

  constructor(feed: { subscribe(l: (e: ChangeEvent) => void): () => void }) {
    this.stop = feed.subscribe((event) => {
      this.events.push(event)
      for (const waiter of [...this.#waiters]) {
        if (!waiter.match(event)) continue
        this.#waiters.splice(this.#waiters.indexOf(waiter), 1)
        waiter.resolve(event)
      }
    })
  }

  /** The first event from now on that `match` accepts. */
  next(match: (e: ChangeEvent) => boolean): Promise<ChangeEvent> {
    return new Promise((resolve) => this.#waiters.push({ match, resolve }))
  }

  /** Unit events of one spec, in arrival order. */
  units(namespace: string, workSpec: string): WorkUnitsChanged[] {
    return this.events.filter((e): e is WorkUnitsChanged => e.kind === 'work-units' && e.namespace === namespace && e.workSpec === workSpec)
  }
}

const unitsOf = (namespace: string, workSpec: string) => (e: ChangeEvent) =>
  e.kind === 'work-units' && e.namespace === namespace && e.workSpec === workSpec

// A missing announcement shows as a test that never hears it: fail in 10 s rather than 30.
describe('deferred change notifications of claims and completions', { timeout: 10_000 }, async () => {
  const { coordinate: writer, clock, url } = await openTestCoordinate()
  // PGlite in memory is one database per Coordinate: there the writer listens to itself.
  const listener: PostgresCoordinate = url ? await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0 }) : writer
  const feed = listener.changes()
  const recorder = new Recorder(feed)
  await feed.ready()
  afterAll(async () => {
    recorder.stop()
    if (listener !== writer) await listener.close()
  })

  /** Makes a spec with units through `writer` and waits until the listener has heard the add. */
  async function specWithUnits(namespace: string, spec: string, keys: string[]) {
    const ns = await writer.namespace(namespace)
    const added = recorder.next(unitsOf(namespace, spec))
    const made = await ns.setWorkSpec({ name: spec })
    await made.addWorkUnits(keys.map((key) => ({ key })))
    await added
    return { ns, spec: made }
  }

  /** A change of a spec only `writer` touches, whose event follows everything committed before it. */
  async function marker(namespace: string): Promise<void> {
    const ns = await writer.namespace(namespace)
    const heard = recorder.next((e) => e.kind === 'work-spec' && e.namespace === namespace && e.workSpec === 'marker')
    await ns.setWorkSpec({ name: 'marker' })
    await heard
  }

  it('announces a claim with the claimed key, and its completion', async () => {
    const { ns } = await specWithUnits('dn-claim', 'work', ['k1', 'k2', 'k3'])
    const worker = await ns.worker('w')
    const claimHeard = recorder.next(unitsOf('dn-claim', 'work'))
    const [attempt] = await worker.requestAttempts()
    expect(attempt!.workUnit.name).toBe('k1')
    expect(await claimHeard).toEqual({ kind: 'work-units', namespace: 'dn-claim', workSpec: 'work', keys: [bytes('k1')] })

    const finishHeard = recorder.next(unitsOf('dn-claim', 'work'))
    await attempt!.finish()
    expect(await finishHeard).toEqual({ kind: 'work-units', namespace: 'dn-claim', workSpec: 'work', keys: [bytes('k1')] })

    // The second claim comes from the remembered choice; a bulk completion of two, by the namespace.
    const secondHeard = recorder.next(unitsOf('dn-claim', 'work'))
    const two = await worker.requestAttempts({ numberOfWorkUnits: 2 })
    expect(await secondHeard).toEqual({ kind: 'work-units', namespace: 'dn-claim', workSpec: 'work', keys: [bytes('k2'), bytes('k3')] })
    const bulkHeard = recorder.next(unitsOf('dn-claim', 'work'))
    await ns.completeAttempts(two.map((attempt) => ({ attempt, status: 'failed' as const })))
    expect(await bulkHeard).toEqual({ kind: 'work-units', namespace: 'dn-claim', workSpec: 'work', keys: keysOf(two) })
  })

  it('announces a chaining completion: the finished unit, and the units it chains into', async () => {
    const { ns } = await specWithUnits('dn-chain', 'first', ['c1'])
    await ns.setWorkSpec({ name: 'first', then: 'second' })
    await ns.setWorkSpec({ name: 'second', disabled: true })
    const claimHeard = recorder.next(unitsOf('dn-chain', 'first'))
    const [attempt] = await (await ns.worker('w')).requestAttempts({ workSpecs: ['first'] })
    await claimHeard
    const finishHeard = recorder.next(unitsOf('dn-chain', 'first'))
    const chainedHeard = recorder.next(unitsOf('dn-chain', 'second'))
    await attempt!.finish({ output: ['c2'] })
    expect(await finishHeard).toEqual({ kind: 'work-units', namespace: 'dn-chain', workSpec: 'first', keys: [bytes('c1')] })
    expect(await chainedHeard).toEqual({ kind: 'work-units', namespace: 'dn-chain', workSpec: 'second', keys: [bytes('c2')] })
  })

  it('announces more than 20 units of one request as the whole spec (keys null)', async () => {
    const keys = Array.from({ length: 30 }, (_, i) => `many${String(i).padStart(2, '0')}`)
    const { ns } = await specWithUnits('dn-many', 'work', keys)
    const worker = await ns.worker('w')
    const claimHeard = recorder.next(unitsOf('dn-many', 'work'))
    const claimed = await worker.requestAttempts({ numberOfWorkUnits: 25 })
    expect(claimed).toHaveLength(25)
    expect(await claimHeard).toEqual({ kind: 'work-units', namespace: 'dn-many', workSpec: 'work', keys: null })
    const doneHeard = recorder.next(unitsOf('dn-many', 'work'))
    await ns.completeAttempts(claimed.map((attempt) => ({ attempt, status: 'finished' as const })))
    expect(await doneHeard).toEqual({ kind: 'work-units', namespace: 'dn-many', workSpec: 'work', keys: null })
    // 20 are still listed.
    const small = recorder.next(unitsOf('dn-many', 'work'))
    const rest = await worker.requestAttempts({ numberOfWorkUnits: 20 })
    expect(rest).toHaveLength(5)
    expect(await small).toMatchObject({ keys: keysOf(rest) })
  })

  it('announces each claim and completion once: the trigger stays silent', async () => {
    const { ns } = await specWithUnits('dn-once', 'work', ['o1', 'o2'])
    await specWithUnits('dn-once', 'marker', ['m1'])
    const worker = await ns.worker('w')
    const from = recorder.events.length
    const attempts = await worker.requestAttempts({ numberOfWorkUnits: 2, workSpecs: ['work'] })
    await ns.completeAttempts(attempts.map((attempt) => ({ attempt, status: 'finished' as const })))
    // The writer's announcements go out in order, so once a later one is heard these have been.
    const markerHeard = recorder.next(unitsOf('dn-once', 'marker'))
    expect(await worker.requestAttempts({ workSpecs: ['marker'] })).toHaveLength(1)
    await markerHeard
    const heard = recorder.events.slice(from).filter(unitsOf('dn-once', 'work')) as WorkUnitsChanged[]
    // A claim and a completion a round trip apart may share one announcement; a trigger firing
    // as well would add one per statement.
    expect(heard.length).toBeGreaterThanOrEqual(1)
    expect(heard.length).toBeLessThanOrEqual(2)
    for (const event of heard) expect(event.keys).toEqual([bytes('o1'), bytes('o2')])
  })

  it('sends a busy loop\'s announcements at most once per 10 ms, and loses none', async () => {
    // At most 20 units, so that however many changes share an announcement it lists their keys.
    const keys = Array.from({ length: 20 }, (_, i) => `b${String(i).padStart(2, '0')}`)
    const { ns } = await specWithUnits('dn-busy', 'work', keys)
    const worker = await ns.worker('w')
    const notifications = (ns as PostgresNamespace).store.notifications!
    const before = notifications.statementsSent
    const from = recorder.events.length
    const start = performance.now()
    for (let i = 0; i < keys.length; i++) {
      const [attempt] = await worker.requestAttempts()
      await attempt!.finish()
    }
    const elapsed = performance.now() - start
    await notifications.drain()
    await marker('dn-busy')
    // Sent back to back, 40 changes take dozens of statements; spaced, one per 10 ms.
    expect(notifications.statementsSent - before).toBeLessThanOrEqual(Math.ceil(elapsed / 10) + 2)
    const announced = new Set(recorder.events.slice(from).filter(unitsOf('dn-busy', 'work')).flatMap((e) => (e as WorkUnitsChanged).keys ?? []).map((k) => Buffer.from(k).toString()))
    expect(announced).toEqual(new Set(keys))
  })

  it.runIf(url !== undefined)('sends the payload shape the trigger sends', async () => {
    const { ns } = await specWithUnits('dn-raw', 'work', ['r1'])
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await client.query('LISTEN coordinate_coordinate')
      const payloads: string[] = []
      const claimed = new Promise<void>((resolve) =>
        client.on('notification', (message) => {
          payloads.push(message.payload ?? '')
          if (payloads.length === 1) resolve()
        }),
      )
      await (await ns.worker('w')).requestAttempts()
      await claimed
      expect(JSON.parse(payloads[0]!)).toEqual({ t: 'u', n: 'dn-raw', s: 'work', k: [Buffer.from('r1').toString('hex')] })
    } finally {
      await client.end()
    }
  })

  it.runIf(url !== undefined)('sends nothing for the claims and completions of a Coordinate opened with notify: false', async () => {
    const quiet = await openCoordinate({ databaseUrl: url, clock, notify: false, leaseSweepMs: 0 })
    await specWithUnits('dn-quiet', 'work', ['q1', 'q2', 'q3'])
    const from = recorder.events.length
    const ns = await quiet.namespace('dn-quiet')
    const worker = await ns.worker('w')
    const first = await worker.requestAttempts()
    const more = await worker.requestAttempts({ numberOfWorkUnits: 2 })
    expect([...first, ...more].map((a) => a.workUnit.name)).toEqual(['q1', 'q2', 'q3'])
    await first[0]!.finish()
    await ns.completeAttempts(more.map((attempt) => ({ attempt, status: 'failed' as const })))
    // Closing drains whatever it might have queued, so the marker comes after any of it.
    await quiet.close()
    await marker('dn-quiet')
    expect(recorder.events.slice(from).filter(unitsOf('dn-quiet', 'work'))).toEqual([])
    const spec = await (await writer.namespace('dn-quiet')).workSpec('work')
    expect(await spec.countWorkUnitStatus()).toEqual({ finished: 1, failed: 2 })
  })

  it.runIf(url !== undefined)('close() sends the announcements still queued', async () => {
    await specWithUnits('dn-close', 'work', ['c1', 'c2', 'c3'])
    const closing = await openCoordinate({ databaseUrl: url, clock, leaseSweepMs: 0 })
    const ns = await closing.namespace('dn-close')
    const worker = await ns.worker('w')
    const from = recorder.events.length
    const [claimed] = await worker.requestAttempts()
    expect(claimed!.workUnit.name).toBe('c1')
    await claimed!.finish()
    const [last] = await worker.requestAttempts({ numberOfWorkUnits: 1 })
    expect(last!.workUnit.name).toBe('c2')
    // No waiting: the last claim's announcement is at most queued when close() starts.
    await closing.close()
    await marker('dn-close')
    const heard = recorder.events.slice(from).filter(unitsOf('dn-close', 'work')) as WorkUnitsChanged[]
    const announced = heard.flatMap((e) => e.keys ?? []).map((k) => Buffer.from(k).toString())
    expect(new Set(announced)).toEqual(new Set(['c1', 'c2']))
    expect(announced.at(-1)).toBe('c2')
  })
})
