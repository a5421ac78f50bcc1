import { describe, expect, it } from 'vitest'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { spawnTsChild } from '../support/child-process.js'

const { coordinate: backend, url } = await openTestCoordinate()

const PROCESSES = 4
const UPDATES = 200

interface Report {
  done: true
  latencies: number[]
  errors: string[]
  locked: number
}

/** Runs PROCESSES children doing UPDATES update()s each on the same target, started together. */
async function contend(namespace: string, target: 'unit' | 'spec'): Promise<Report[]> {
  const children = Array.from({ length: PROCESSES }, () => spawnTsChild('cas-updater.ts', [url!, namespace, target, String(UPDATES)]))
  await Promise.all(children.map((child) => child.next<{ ready: boolean }>((m) => m.ready === true)))
  for (const child of children) child.send('go')
  const reports = await Promise.all(children.map((child) => child.next<Report>((m) => m.done === true)))
  await Promise.all(children.map((child) => child.exited))
  const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b)
  const at = (q: number): string => latencies[Math.min(latencies.length - 1, Math.floor(q * latencies.length))]!.toFixed(1)
  // Informational only (2 shared cores, noisy): not asserted.
  console.log(
    `${PROCESSES} processes × ${UPDATES} update() on one ${target}: p50 ${at(0.5)} ms, p99 ${at(0.99)} ms, max ${at(1)} ms; ` +
      `${reports.reduce((n, r) => n + r.locked, 0)} took the row-locked path`,
  )
  return reports
}

// Separate processes need a server: PGlite is one process by design.
describe.runIf(url !== undefined)('update() under contention from other processes', () => {
  it('lands every update of a work unit, with no ConflictError at default options', async () => {
    const spec = await (await backend.namespace('contend-unit')).setWorkSpec({ name: 'counted' })
    await spec.addWorkUnit('counter', { n: 0 })
    const reports = await contend('contend-unit', 'unit')
    expect(reports.flatMap((r) => r.errors)).toEqual([])
    expect(await (await spec.workUnit('counter')).data()).toEqual({ n: PROCESSES * UPDATES })
  }, 180_000)

  it("lands every update of a work spec's data", async () => {
    const spec = await (await backend.namespace('contend-spec')).setWorkSpec({ name: 'counted', n: 0 })
    const reports = await contend('contend-spec', 'spec')
    expect(reports.flatMap((r) => r.errors)).toEqual([])
    expect(await spec.data()).toEqual({ name: 'counted', n: PROCESSES * UPDATES })
  }, 180_000)
})
