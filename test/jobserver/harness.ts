import { afterAll, afterEach, beforeEach, expect } from 'vitest'
import { CborRpcServer } from '../../src/cborrpc/server.js'
import type { Coordinate, Namespace } from '../../src/coordinate/api.js'
import { cacheCoordinate } from '../../src/cache/cache-coordinate.js'
import type { FakeClock } from '../../src/coordinate/clock.js'
import { type DataDict, type DataValue, Tuple, Uuid, isDataDict } from '../../src/coordinate/data.js'
import { JobServer } from '../../src/jobserver/index.js'
import type { PostgresCoordinate } from '../../src/postgres/coordinate.js'
import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { type ResponseMap, TestClient } from '../cborrpc/python-like-client.js'

/** A Python `unicode` value inside py2(): everything else that is a JS string becomes a byte string. */
export class Unicode {
  constructor(readonly text: string) {}
}

/** Marks text to be sent as a CBOR text string (Python 2 `unicode`). */
export function u(text: string): Unicode {
  return new Unicode(text)
}

/** The UTF-8 bytes of a string, as a plain Uint8Array (what the decoder hands back). */
export function b(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'utf8'))
}

/** Raw bytes from latin-1 escapes, for keys that are not UTF-8 ("f\xfc"). */
export function raw(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, 'latin1'))
}

/** A Python tuple inside py2(): its items are converted like everything else. */
export class PyTuple {
  constructor(readonly items: Py2Input[]) {}
}

/** A value as Python 2 sends it: every str a byte string (dict keys included), `u()` text stays text. */
export type Py2Input =
  | null
  | boolean
  | number
  | bigint
  | string
  | Unicode
  | Uint8Array
  | Uuid
  | PyTuple
  | Py2Input[]
  | { [key: string]: Py2Input }

/** Converts a value to what the Python 2 client would put on the wire. */
export function py2(value: Py2Input): DataValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint') return value
  if (typeof value === 'string') return b(value)
  if (value instanceof Unicode) return value.text
  if (value instanceof Uint8Array || value instanceof Uuid) return value
  if (value instanceof PyTuple) return new Tuple(value.items.map(py2))
  if (Array.isArray(value)) return value.map(py2)
  const map = new Map<DataValue, DataValue>()
  for (const [key, item] of Object.entries(value)) map.set(b(key), py2(item))
  return map
}

/**
 * What a py2() value looks like when the server sends it back: dict keys as text (the server
 * keeps dicts with string keys), everything else exactly as sent.
 */
export function echo(value: Py2Input): DataValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'number' || typeof value === 'bigint') return value
  if (typeof value === 'string') return b(value)
  if (value instanceof Unicode) return value.text
  if (value instanceof Uint8Array || value instanceof Uuid) return value
  if (value instanceof PyTuple) return new Tuple(value.items.map(echo))
  if (Array.isArray(value)) return value.map(echo)
  const dict: DataDict = {}
  for (const [key, item] of Object.entries(value)) dict[key] = echo(item)
  return dict
}

/** A tuple, as Python 2 sends `(a, b, …)`. */
export function tuple(...items: Py2Input[]): PyTuple {
  return new PyTuple(items)
}

/** An error response, thrown by Harness.call. */
export class RpcError extends Error {}

/** A JobServer on a real TCP CBOR-RPC server, a namespace per test, and a Python-like client. */
export interface Harness {
  readonly coordinate: PostgresCoordinate
  readonly clock: FakeClock
  /** The current test's namespace. */
  namespace(): Namespace
  /** Calls a method with params already in wire form; returns `result` or throws RpcError. */
  call(method: string, ...params: DataValue[]): Promise<DataValue>
  /** Like call, converting each param with py2() first. */
  py(method: string, ...params: Py2Input[]): Promise<DataValue>
  /** The whole decoded response map. */
  response(method: string, params: DataValue[]): Promise<ResponseMap>
  /** Replaces the current test's JobServer by one with this config. */
  reconfigure(config: DataDict | undefined): void
  /** Opens one more connection (another Python process). */
  connect(): Promise<TestClient>
}

/** Sets up the harness for a test file; call at the top level with await. */
export async function startHarness(options: { throughCache?: boolean } = {}): Promise<Harness> {
  const { coordinate, clock } = await openTestCoordinate()
  // Through the cache, as coordinated serves it; closing it must leave the backend to the file.
  const served: Coordinate = options.throughCache
    ? cacheCoordinate(coordinate, { clock, changes: coordinate.changes(), closeBackend: false })
    : coordinate
  let current: JobServer | undefined
  let namespace: Namespace | undefined
  const server = new CborRpcServer((method, params, context) => {
    if (!current) throw new Error('no JobServer for this test')
    return current.handler(method, params, context)
  }, { port: 0 })
  const { port } = await server.listen()
  const client = await TestClient.connect(port)
  const extra: TestClient[] = []
  let nextId = 1

  afterAll(async () => {
    for (const c of [client, ...extra]) c.socket.destroy()
    await server.close()
    if (served !== coordinate) await served.close()
  })
  beforeEach(async () => {
    namespace = await served.namespace(`jobserver ${expect.getState().currentTestName ?? ''}`)
    current = new JobServer({ namespace, clock })
  })
  afterEach(async () => {
    await namespace?.destroy()
    namespace = undefined
    current = undefined
  })

  const response = (method: string, params: DataValue[]): Promise<ResponseMap> => client.call(nextId++, method, params)
  const call = async (method: string, ...params: DataValue[]): Promise<DataValue> => {
    const answer = await response(method, params)
    if ('result' in answer) return answer.result ?? null
    const error = answer.error
    throw new RpcError(isDataDict(error) && typeof error.message === 'string' ? error.message : JSON.stringify(answer))
  }
  return {
    coordinate,
    clock,
    namespace: () => {
      if (!namespace) throw new Error('no namespace outside a test')
      return namespace
    },
    call,
    py: (method, ...params) => call(method, ...params.map(py2)),
    response,
    reconfigure(config) {
      if (!namespace) throw new Error('no namespace outside a test')
      current = new JobServer({ namespace, clock, config })
    },
    async connect() {
      const c = await TestClient.connect(port)
      extra.push(c)
      return c
    },
  }
}
