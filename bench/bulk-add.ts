import pg from 'pg'
import { encodeData } from '../src/coordinate/cbor-data.js'
import { openCoordinate } from '../src/postgres/open.js'
import { freshDatabase, dropDatabase, median, report, timed } from './support.js'

const UNITS = Number(process.env.BENCH_UNITS ?? 100_000)
const ROUNDS = 3

/** Bulk add of UNITS units to one spec, against a plain INSERT … unnest of the same rows. */
export async function benchBulkAdd(): Promise<void> {
  const url = await freshDatabase('coordinate_bench_add')
  const coordinate = await openCoordinate({ databaseUrl: url, leaseSweepMs: 0 })
  const plain = new pg.Pool({ connectionString: url, max: 1 })
  try {
    const ns = await coordinate.namespace('bench')
    const keys = Array.from({ length: UNITS }, (_, i) => `unit-${String(i).padStart(8, '0')}`)
    const items = keys.map((key, i) => ({ key, data: { n: i, url: `https://example.com/${i}` } }))
    await plain.query('CREATE TABLE plain_unit (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, spec_id bigint NOT NULL, name bytea NOT NULL, data bytea NOT NULL, priority double precision NOT NULL DEFAULT 0, UNIQUE (spec_id, name))')
    const ours: number[] = []
    const bare: number[] = []
    for (let round = 0; round < ROUNDS; round++) {
      const spec = await ns.setWorkSpec({ name: `spec${round}` })
      ours.push((await timed(() => spec.addWorkUnits(items))).ms)
      // The baseline gets the rows already encoded: it measures the database's share alone.
      const names = keys.map((k) => Buffer.from(k))
      const datas = items.map((it) => Buffer.from(encodeData(it.data)))
      bare.push(
        (
          await timed(() =>
            plain.query('INSERT INTO plain_unit (spec_id, name, data) SELECT $1, n, d FROM unnest($2::bytea[], $3::bytea[]) AS t (n, d)', [
              round,
              names,
              datas,
            ]),
          )
        ).ms,
      )
    }
    const oursRate = UNITS / (median(ours) / 1000)
    const bareRate = UNITS / (median(bare) / 1000)
    report(`addWorkUnits, ${UNITS} units, one spec (median of ${ROUNDS})`, `${Math.round(oursRate)} units/s`, {
      to: 'plain INSERT … unnest of the same rows',
      value: oursRate / bareRate,
    })
    report('  baseline: plain INSERT … unnest', `${Math.round(bareRate)} rows/s`)
  } finally {
    await plain.end()
    await coordinate.close()
    await dropDatabase('coordinate_bench_add')
  }
}
