import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { CborRpcServer } from '../../src/cborrpc/server.js'
import { type ResponseMap, TestClient, pythonRequest } from './python-like-client.js'

// Hostile input must cost the server nothing that outlives the connection: no allocation sized by
// a declared length, no buffered junk, no connection left behind. Each input goes to a fresh
// connection, many times over, and the heap is compared before and after.

const ROUNDS = 200
const JUNK_BYTES = 4 * 1024

/** A bad input, and what the server should send before it closes the connection. */
interface BadInput {
  readonly name: string
  readonly bytes: Buffer
  /** Write the bytes and then end our side, rather than wait for the server to close. */
  readonly thenEnd: boolean
  /** Part of the error message the server says goodbye with; undefined = no answer at all. */
  readonly farewell: string | undefined
}

const junk = Buffer.alloc(JUNK_BYTES, 0x41)
const goodRequest = pythonRequest(1, 'echo', ['x'.repeat(1000)])

const BAD_INPUTS: readonly BadInput[] = [
  // A byte string declaring 1 GiB: refused on its header, before any room is made for it.
  { name: '1 GiB byte-string header', bytes: Buffer.concat([Buffer.from([0x5a, 0x40, 0x00, 0x00, 0x00]), junk]), thenEnd: false, farewell: 'larger than' },
  // 50,000 one-element arrays around a 0: deep enough to break a recursive decoder.
  { name: '50k nested arrays', bytes: Buffer.concat([Buffer.alloc(50_000, 0x81), Buffer.from([0x00])]), thenEnd: false, farewell: 'deep' },
  { name: '0xff garbage', bytes: Buffer.alloc(JUNK_BYTES, 0xff), thenEnd: false, farewell: 'break byte' },
  // Half a good request, then the client goes away: nothing to answer.
  { name: 'truncated frame, then close', bytes: goodRequest.subarray(0, goodRequest.length >> 1), thenEnd: true, farewell: undefined },
]

const servers: CborRpcServer[] = []

afterAll(async () => {
  await Promise.all(servers.map((server) => server.close()))
})

/**
 * A way to run the garbage collector. vitest does not pass --expose-gc to its forks, so this
 * falls back to the trick Jest's leak detector uses: turn the flag on at run time and take `gc`
 * from a new context. Undefined if neither works.
 */
function garbageCollector(): (() => void) | undefined {
  if (globalThis.gc) return globalThis.gc
  try {
    setFlagsFromString('--expose-gc')
    const gc: unknown = runInNewContext('gc')
    return typeof gc === 'function' ? () => void gc() : undefined
  } catch {
    return undefined
  } finally {
    setFlagsFromString('--no-expose-gc')
  }
}

/** Heap plus the memory behind Buffers and ArrayBuffers, which is where frame bytes would live. */
async function memoryInUse(gc: (() => void) | undefined): Promise<number> {
  // A few turns of the event loop first, so that sockets closing and their callbacks are done with.
  for (let i = 0; i < 5; i++) await new Promise<void>((resolve) => setImmediate(resolve))
  // Twice: after one pass the figure varied by a few MB from run to run (memory released by the
  // first pass's weak callbacks is only reclaimed by the next); after two it is steady.
  gc?.()
  gc?.()
  const { heapUsed, external } = process.memoryUsage()
  return heapUsed + external
}

/** Sends one bad input on a fresh connection and waits until the server has closed it. */
async function sendBad(port: number, input: BadInput): Promise<ResponseMap[]> {
  const client = await TestClient.connect(port)
  client.send(input.bytes)
  if (input.thenEnd) client.end()
  // rest() resolves once the server has closed the connection, with whatever it answered first.
  return client.rest()
}

async function round(port: number): Promise<void> {
  const answers = await Promise.all(BAD_INPUTS.map((input) => sendBad(port, input)))
  BAD_INPUTS.forEach((input, i) => {
    if (input.farewell === undefined) expect(answers[i], input.name).toEqual([])
    else expect(answers[i], input.name).toEqual([{ id: null, error: { message: expect.stringContaining(input.farewell) } }])
  })
}

describe('CborRpcServer memory bounds', () => {
  it('keeps nothing from connections that sent hostile input', async () => {
    const server = new CborRpcServer(async (method, params) => (method === 'echo' ? params : Promise.reject(new Error(`no method ${method}`))), { port: 0 })
    servers.push(server)
    const { port } = await server.listen()
    const gc = garbageCollector()

    // One round before the baseline, so that code loaded and state set up on first use
    // (error classes, encoders, the socket machinery) does not count as growth.
    await round(port)
    await vi.waitFor(() => expect(server.connectionCount).toBe(0))
    const before = await memoryInUse(gc)

    for (let i = 0; i < ROUNDS; i++) await round(port)

    // Our side has seen every close; the server's own close events may be a turn behind.
    await vi.waitFor(() => expect(server.connectionCount).toBe(0))
    const client = await TestClient.connect(port)
    expect(await client.call(2, 'echo', ['still here'])).toEqual({ id: 2, result: ['still here'] })
    client.end()
    await client.closed
    await vi.waitFor(() => expect(server.connectionCount).toBe(0))

    const grown = (await memoryInUse(gc)) - before
    // The rounds sent about 12 MB (200 × (4 KB + 50 KB + 4 KB + ½ KB)). A server that kept what it
    // was sent grows by about that much (checked by keeping copies in this test: +12 MB), and one
    // that allocated for a declared length needs 1 GiB for a single header. After two collections
    // the growth measures under 1 MB here, so 8 MB is far from both. Without a collector the
    // garbage of 800 connections is still counted (about 12 MB here), so only the gross failure,
    // allocating by declared length, can be told apart, and the bound is loose.
    const bound = gc ? 8 * 2 ** 20 : 128 * 2 ** 20
    expect(grown, `grew ${(grown / 2 ** 20).toFixed(1)} MB (gc ${gc ? 'run' : 'unavailable'})`).toBeLessThan(bound)
  })
})
