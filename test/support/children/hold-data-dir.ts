// Opens the PGlite data directory given as argv[2], adds a unit, says so, and waits to be killed.
import { openCoordinate } from '../../../src/postgres/open.js'
import { DataDirLockedError } from '../../../src/coordinate/errors.js'

const dir = process.argv[2]!
try {
  const coordinate = await openCoordinate({ dataDir: dir, leaseSweepMs: 0 })
  const spec = await (await coordinate.namespace('')).setWorkSpec({ name: 'held' })
  await spec.addWorkUnit(`by-${process.pid}`)
  console.log(JSON.stringify({ ready: true, pid: process.pid }))
  setInterval(() => undefined, 60_000)
} catch (error) {
  const locked = error instanceof DataDirLockedError
  console.log(JSON.stringify({ ready: false, locked, message: error instanceof Error ? error.message : String(error) }))
  process.exit(locked ? 3 : 1)
}
