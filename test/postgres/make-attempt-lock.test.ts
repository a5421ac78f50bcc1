import pg from 'pg'
import { describe, expect, it } from 'vitest'
import { MINUTE } from '../../src/coordinate/clock.js'
import type { PostgresAttempt } from '../../src/postgres/attempt.js'
import type { PostgresWorkUnit } from '../../src/postgres/work-unit.js'
import { COMPLETE_SQL } from '../../src/postgres/sql/complete.js'
import { waitForLockWait } from '../support/lock-wait.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'

// makeAttempt displaces the unit's active attempt, which a completion batch may be finishing at
// that moment. A completion locks the attempt, then its unit; makeAttempt starts from the unit,
// so it locks the unit's attempts first. Were it to lock the unit first, the two would wait on
// each other and Postgres would abort one as a deadlock victim.

const { coordinate, clock, url } = await openTestCoordinate()

describe.runIf(url !== undefined)('makeAttempt while a completion of the active attempt is under way', () => {
  it('waits for the completion, then leaves exactly one active attempt, which the unit points to', async () => {
    const ns = await coordinate.namespace('make-attempt-lock')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    const unit = (await spec.addWorkUnit('u')) as PostgresWorkUnit
    const [first] = (await (await ns.worker('first')).requestAttempts({ lifetimeMs: MINUTE })) as PostgresAttempt[]
    expect(first?.workUnit.name).toBe('u')
    const deadlocksBefore = coordinate.observability().deadlockRetries()

    // The completion, held in its own session after its first lock: the attempt's row.
    const completion = new pg.Client({ connectionString: url, options: '-c search_path=coordinate' })
    await completion.connect()
    let made: Promise<PostgresAttempt> | undefined
    try {
      await completion.query('BEGIN')
      await completion.query('SELECT 1 FROM attempt WHERE id = $1 FOR UPDATE', [first!.id])
      made = (await ns.worker('second')).makeAttempt(unit, MINUTE) as Promise<PostgresAttempt>
      await waitForLockWait(completion)
      // The rest of the completion (the attempt, then its unit), as a completion batch runs it.
      await completion.query(COMPLETE_SQL, [[unit.id], [first!.id], ['finished'], [null], clock.now(), false])
      await completion.query('COMMIT')
    } finally {
      await completion.end()
    }
    const second = await made!

    expect(coordinate.observability().deadlockRetries() - deadlocksBefore).toBe(0)
    expect(await first!.status()).toBe('finished')
    expect(await second.status()).toBe('pending')
    const attempts = await unit.attempts()
    expect(attempts.map((a) => a.worker.name)).toEqual(['first', 'second'])
    expect(await Promise.all(attempts.map((a) => a.status()))).toEqual(['finished', 'pending'])
    expect(((await unit.activeAttempt()) as PostgresAttempt | null)?.id).toBe(second.id)
    expect(await unit.status()).toBe('pending')
    expect(await spec.countWorkUnitStatus()).toEqual({ pending: 1 })
  })
})
