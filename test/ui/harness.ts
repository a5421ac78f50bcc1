import { afterAll } from 'vitest'
import { CborRpcServer } from '../../src/cborrpc/server.js'
import { cacheCoordinate } from '../../src/cache/cache-coordinate.js'
import type { Coordinate } from '../../src/coordinate/api.js'
import type { DataValue } from '../../src/coordinate/data.js'
import { JobServer } from '../../src/jobserver/job-server.js'
import type { PostgresCoordinate } from '../../src/postgres/coordinate.js'
import { openCoordinate } from '../../src/postgres/open.js'
import type { RestServer } from '../../src/rest/rest-server.js'
import { startDashboardApi } from '../../bench/dashboard-api.js'
import { TestClient } from '../cborrpc/python-like-client.js'
import { createFileDatabase } from '../support/database.js'
import { buildDashboard } from './browser.js'

/**
 * What coordinated serves, assembled for a browser test on the wall clock (pages are live, so
 * time must pass by itself): the cache over Postgres, the HTTP API with the dashboard, and the
 * CBOR-RPC jobserver for namespace "", with a Python-like client connected to it.
 */
export interface DashboardHarness {
  backend: PostgresCoordinate
  coordinate: Coordinate
  /** `http://127.0.0.1:port` of the HTTP API. */
  url: string
  /** Starts one more HTTP server on the same store, this one asking for `token`. */
  withToken(token: string): Promise<string>
  /** Calls a jobserver method as the Python client would and returns its result. */
  rpc(method: string, ...params: DataValue[]): Promise<DataValue>
}

/** Starts everything for one test file; stopped after the file. */
export async function startDashboardHarness(): Promise<DashboardHarness> {
  const database = await createFileDatabase()
  const backend = await openCoordinate({ databaseUrl: database.url, leaseSweepMs: 0 })
  const coordinate = cacheCoordinate(backend, { clock: backend.clock, changes: backend.changes(), closeBackend: false })
  const ui = await buildDashboard()
  const servers: RestServer[] = []
  const serve = async (token?: string): Promise<string> => {
    const server = await startDashboardApi(backend, coordinate, { uiDir: ui.dir, ...(token === undefined ? {} : { access: { token } }) })
    servers.push(server)
    return server.url
  }
  const url = await serve()
  const jobs = new JobServer({ namespace: await coordinate.namespace(''), clock: backend.clock })
  const rpcServer = new CborRpcServer(jobs.handler, { port: 0 })
  const { port } = await rpcServer.listen()
  const client = await TestClient.connect(port)
  let nextId = 1
  afterAll(async () => {
    client.socket.destroy()
    await rpcServer.close()
    for (const server of servers) await server.close(1000)
    await coordinate.close()
    await backend.close()
    await database.drop()
    await ui.remove()
  })
  return {
    backend,
    coordinate,
    url,
    withToken: (token) => serve(token),
    async rpc(method, ...params) {
      const answer = await client.call(nextId++, method, params)
      if (!('result' in answer)) throw new Error(`${method} failed: ${JSON.stringify(answer.error)}`)
      return answer.result ?? null
    },
  }
}
