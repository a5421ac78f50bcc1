import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { DatabaseHealth, RECOVERY_SETTLE_MS } from '../../src/postgres/database-health.js'

interface Line {
  level: 'warn' | 'info'
  fields: Record<string, unknown>
  message: string
}

function logged(): { lines: Line[]; health: DatabaseHealth } {
  const lines: Line[] = []
  const health = new DatabaseHealth({
    warn: (fields, message) => void lines.push({ level: 'warn', fields, message }),
    info: (fields, message) => void lines.push({ level: 'info', fields, message }),
  })
  return { lines, health }
}

describe('DatabaseHealth', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('warns at the first failure and logs the outage length once the first success has held', () => {
    const { lines, health } = logged()
    health.ok('pool')
    expect(lines).toEqual([])
    health.lost('pool', new Error('refused'))
    health.lost('pool', new Error('refused again'))
    expect(lines.map((l) => [l.level, l.message, l.fields.source])).toEqual([['warn', 'database connection lost', 'pool']])
    vi.advanceTimersByTime(2_500)
    health.ok('pool')
    health.ok('pool')
    expect(health.isDown('pool')).toBe(true)
    vi.advanceTimersByTime(RECOVERY_SETTLE_MS - 1)
    expect(lines).toHaveLength(1)
    vi.advanceTimersByTime(1)
    expect(lines[1]).toMatchObject({ level: 'info', message: 'database connection recovered', fields: { source: 'pool', outageMs: 2_500 } })
    expect(health.isDown('pool')).toBe(false)
  })

  it('counts connections terminated one after another, with successes in between, as one outage', () => {
    const { lines, health } = logged()
    // A fast shutdown: each pooled connection is terminated in turn, others still answer meanwhile.
    for (let connection = 0; connection < 10; connection++) {
      health.lost('pool', new Error('terminating connection due to administrator command'))
      vi.advanceTimersByTime(1)
      health.ok('pool')
    }
    health.lost('pool', new Error('connect ECONNREFUSED'))
    vi.advanceTimersByTime(3_000)
    health.ok('pool', { detail: 'x' })
    vi.advanceTimersByTime(RECOVERY_SETTLE_MS)
    expect(lines.map((l) => l.level)).toEqual(['warn', 'info'])
    expect(lines[1]!.fields).toEqual({ source: 'pool', outageMs: 3_010, detail: 'x' })
  })

  it('keeps sources apart', () => {
    const { lines, health } = logged()
    health.lost('pool', new Error('x'))
    health.lost('listen', new Error('x'))
    health.ok('pool')
    vi.advanceTimersByTime(RECOVERY_SETTLE_MS)
    expect(lines.map((l) => `${l.level} ${String(l.fields.source)}`)).toEqual(['warn pool', 'warn listen', 'info pool'])
    expect(health.isDown('listen')).toBe(true)
  })
})
