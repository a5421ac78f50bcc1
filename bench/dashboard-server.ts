import { cacheCoordinate } from '../src/cache/cache-coordinate.js'
import { CborRpcServer } from '../src/cborrpc/server.js'
import { JobServer } from '../src/jobserver/job-server.js'
import { openCoordinate } from '../src/postgres/open.js'
import { startDashboardApi } from './dashboard-api.js'

// The HTTP API with the dashboard and the CBOR-RPC jobserver for namespace "bench", as
// coordinated serves them (the cache over Postgres), in a process of its own so that the
// dashboard benchmark measures it from outside. Prints its URL and CBOR-RPC port as one JSON
// line, then serves until stdin closes.

const databaseUrl = process.argv[2]
if (databaseUrl === undefined) throw new Error('usage: dashboard-server.js DATABASE_URL')
const backend = await openCoordinate({ databaseUrl, leaseSweepMs: 0 })
const coordinate = cacheCoordinate(backend, { clock: backend.clock, changes: backend.changes() })
const server = await startDashboardApi(backend, coordinate)
const jobs = new JobServer({ namespace: await coordinate.namespace('bench'), clock: backend.clock })
const rpc = new CborRpcServer(jobs.handler, { host: '127.0.0.1', port: 0 })
const { port } = await rpc.listen()
console.log(JSON.stringify({ url: server.url, rpcPort: port }))
process.stdin.resume()
process.stdin.on('end', () => {
  void Promise.all([server.close(1000), rpc.close()])
    .then(() => coordinate.close())
    .then(() => process.exit(0))
})
