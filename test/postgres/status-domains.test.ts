import type pg from 'pg'
import { describe, expect, it } from 'vitest'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { withSchemaClient } from '../support/schema-client.js'

// The rule on unit states and attempt statuses lives in domains rather than table CHECK
// constraints (prepared again by every writing statement; a domain is prepared once per session).
// The rule must still hold for every writer, and no table constraint may come back.

const SCHEMA = 'coordinate'

describe('unit states and attempt statuses as domains (real server)', async () => {
  const { coordinate, url } = await openTestCoordinate()

  const withClient = <T>(fn: (client: pg.Client) => Promise<T>) => withSchemaClient(url, fn, SCHEMA)

  it.runIf(url !== undefined)('refuses a state or status outside the model and changes nothing', async () => {
    const ns = await coordinate.namespace('sd-refuse')
    const spec = await ns.setWorkSpec({ name: 'spec' })
    await spec.addWorkUnit('u')
    const [attempt] = await (await ns.worker('w')).requestAttempts()
    const codes = await withClient(async (client) => {
      const attempts = `UPDATE attempt SET status = $1 WHERE id = $2`
      const units = `UPDATE work_unit SET state = $1 WHERE id = (SELECT work_unit_id FROM attempt WHERE id = $2)`
      const errors: unknown[] = []
      for (const [statement, value] of [[attempts, 'done'], [units, 'gone'], [units, 'retryable']] as const) {
        errors.push(await client.query(statement, [value, attempt!.id]).then(() => 'accepted', (error: { code?: string }) => error.code))
      }
      return errors
    })
    // 'retryable' is an attempt status, never a unit state.
    expect(codes).toEqual(['23514', '23514', '23514'])
    expect(await attempt!.status()).toBe('pending')
    expect(await (await spec.workUnit('u')).status()).toBe('pending')
  })

  it.runIf(url !== undefined)('leaves no CHECK constraint on the tables the claim path writes', async () => {
    const rows = await withClient(async (client) =>
      (
        await client.query<{ conname: string }>(
          `SELECT conname FROM pg_constraint WHERE contype = 'c' AND conrelid IN ('work_unit'::regclass, 'attempt'::regclass)`,
        )
      ).rows,
    )
    expect(rows).toEqual([])
  })
})
