import pg from 'pg'
import { openCoordinate } from '../src/postgres/open.js'
import { dropDatabase, freshDatabase, medianMs, report, timed } from './support.js'

const UNITS = Number(process.env.BENCH_SCALE_UNITS ?? 1_000_000)

/** Reads against a spec holding UNITS units: counts, a page by name, a lookup by key. */
export async function benchScale(): Promise<void> {
  const url = await freshDatabase('coordinate_bench_scale')
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  const bare = new pg.Pool({ connectionString: url, max: 1 })
  try {
    const ns = await coordinate.namespace('bench')
    const spec = await ns.setWorkSpec({ name: 'big' })
    const key = (i: number) => `unit-${String(i).padStart(8, '0')}`
    const load = await timed(async () => {
      for (let start = 0; start < UNITS; start += 100_000) {
        await spec.addWorkUnits(Array.from({ length: Math.min(100_000, UNITS - start) }, (_, i) => ({ key: key(start + i), data: { n: start + i } })))
      }
    })
    await bare.query('VACUUM ANALYZE coordinate.work_unit')
    report(`load ${UNITS} units`, `${(load.ms / 1000).toFixed(1)} s`)
    const roundTrip = await medianMs(200, () => bare.query('SELECT 1'))
    report('  baseline: SELECT 1 round trip', `${roundTrip.toFixed(3)} ms`)
    const count = await medianMs(5, () => spec.countWorkUnitStatus())
    report(`countWorkUnitStatus over ${UNITS} units`, `${count.toFixed(1)} ms`)
    const middle = key(UNITS / 2)
    const page = await medianMs(20, () => spec.workUnits({ previousName: middle, limit: 1000 }))
    report('1000-unit page by name', `${page.toFixed(2)} ms`, { to: 'a SELECT 1 round trip', value: page / roundTrip })
    const lookup = await medianMs(500, () => spec.workUnit(key(Math.floor(Math.random() * UNITS))))
    report('workUnit(key) lookup', `${lookup.toFixed(3)} ms`, { to: 'a SELECT 1 round trip', value: lookup / roundTrip })
    const status = await medianMs(500, async () => (await spec.workUnit(key(Math.floor(Math.random() * UNITS)))).status())
    report('workUnit(key) then status()', `${status.toFixed(3)} ms`, { to: 'a SELECT 1 round trip', value: status / roundTrip })
  } finally {
    await bare.end()
    await coordinate.close()
    await dropDatabase('coordinate_bench_scale')
  }
}
