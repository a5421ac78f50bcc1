import { connect } from 'node:net'
import { once } from 'node:events'
import { afterEach, describe, expect, it } from 'vitest'
import { CborRpcServer, type CborRpcServerOptions, type RpcHandler } from '../../src/cborrpc/server.js'
import { Tuple, Uuid } from '../../src/coordinate/data.js'
import { TestClient, envelope, pythonRequest, requestPayload } from './python-like-client.js'

const hex = (text: string): Buffer => Buffer.from(text.replace(/\s+/g, ''), 'hex')
const key = (s: string): string => (0x40 + s.length).toString(16) + Buffer.from(s).toString('hex')

interface Deferred<T> {
  promise: Promise<T>
  resolve: (value: T) => void
}

function deferred<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => {
    resolve = r
  })
  return { promise, resolve }
}

/** A handler with a few test methods; `wait` blocks until the test opens its gate. */
class TestHandler {
  readonly log: string[] = []
  readonly calls: { method: string; params: unknown[]; connectionId: number }[] = []
  started = deferred()
  gate = deferred()

  readonly handle: RpcHandler = async (method, params, { connectionId }) => {
    this.calls.push({ method, params, connectionId })
    this.log.push(`start ${method}`)
    try {
      switch (method) {
        case 'echo':
        case 'list_work_specs':
          return params
        case 'null':
          return null
        case 'pair':
          return Tuple.of(true, null)
        case 'fail':
          throw new Error(`boom ${String(params[0])}`)
        case 'date':
          return new Date(0)
        case 'wait':
          this.started.resolve()
          await this.gate.promise
          return params[0]
        default:
          throw new Error(`no such method ${method}`)
      }
    } finally {
      this.log.push(`end ${method}`)
    }
  }
}

const servers: CborRpcServer[] = []
const clients: TestClient[] = []

afterEach(async () => {
  for (const client of clients.splice(0)) client.socket.destroy()
  await Promise.all(servers.splice(0).map((server) => server.close()))
})

async function start(options: CborRpcServerOptions = {}): Promise<{ server: CborRpcServer; handler: TestHandler; port: number; warnings: string[] }> {
  const handler = new TestHandler()
  const warnings: string[] = []
  const server = new CborRpcServer(handler.handle, {
    port: 0,
    ...options,
    logger: { warn: (message) => warnings.push(message), error: (message) => warnings.push(`ERROR ${message}`) },
  })
  servers.push(server)
  const { port } = await server.listen()
  return { server, handler, port, warnings }
}

async function client(port: number): Promise<TestClient> {
  const c = await TestClient.connect(port)
  clients.push(c)
  return c
}

async function expectServes(port: number): Promise<void> {
  const fresh = await client(port)
  expect(await fresh.call(1, 'echo', ['still here'])).toEqual({ id: 1, result: ['still here'] })
  fresh.end()
}

describe('CborRpcServer', () => {
  it('answers the request captured from the Python client', async () => {
    const { handler, port } = await start()
    const c = await client(port)
    c.send(hex('d8185825a346706172616d7381a042696404466d6574686f644f6c6973745f776f726b5f7370656373'))
    expect(await c.next()).toEqual({ id: 4, result: [{}] })
    expect(handler.calls).toEqual([{ method: 'list_work_specs', params: [{}], connectionId: expect.any(Number) }])
  })

  it('sends result even when the method returns null', async () => {
    const { port } = await start()
    const c = await client(port)
    c.send(pythonRequest(1, 'null', []))
    const raw = await c.nextRaw()
    expect(raw.toString('hex')).toBe('d8184da2626964016672657375' + '6c74f6')
    c.send(pythonRequest(2, 'pair', []))
    expect((await c.nextRaw()).toString('hex')).toContain('d88082f5f6')
  })

  it('round-trips tuples, UUIDs, bytes, text and big integers through params and result', async () => {
    const { port } = await start()
    const c = await client(port)
    const params = [
      Tuple.of('k', { a: 1 }, Tuple.of()),
      Uuid.parse('12345678-1234-1234-1234-123456789abc'),
      new Uint8Array([0, 255]),
      'text',
      2 ** 40,
      2n ** 63n,
      new Map([[1, 'one']]),
      [null, true, 1.5, -3],
    ]
    const response = await c.call(3, 'echo', params)
    expect(response).toEqual({ id: 3, result: params })
    const result = response.result as unknown[]
    expect(result[0]).toBeInstanceOf(Tuple)
    expect(result[1]).toBeInstanceOf(Uuid)
    expect(result[2]).toBeInstanceOf(Uint8Array)
    expect(typeof result[3]).toBe('string')
  })

  it('reassembles a request sent one byte per segment', async () => {
    const { port } = await start()
    const c = await client(port)
    await c.sendByteByByte(pythonRequest(5, 'echo', ['split']))
    expect(await c.next()).toEqual({ id: 5, result: ['split'] })
  })

  it('answers two requests sent in one write, in order', async () => {
    const { port } = await start()
    const c = await client(port)
    c.send(Buffer.concat([pythonRequest(1, 'echo', ['a']), pythonRequest(2, 'echo', ['b'])]))
    expect(await c.next()).toEqual({ id: 1, result: ['a'] })
    expect(await c.next()).toEqual({ id: 2, result: ['b'] })
  })

  it('serves pipelined requests strictly one after another', async () => {
    const { handler, port } = await start()
    const c = await client(port)
    c.send(Buffer.concat([pythonRequest(1, 'wait', ['first']), pythonRequest(2, 'echo', ['second'])]))
    await handler.started.promise
    expect(handler.log).toEqual(['start wait'])
    handler.gate.resolve()
    expect(await c.next()).toEqual({ id: 1, result: 'first' })
    expect(await c.next()).toEqual({ id: 2, result: ['second'] })
    expect(handler.log).toEqual(['start wait', 'end wait', 'start echo', 'end echo'])
  })

  it('answers a long pipeline in order while holding back on reading', async () => {
    const { port } = await start()
    const c = await client(port)
    const ids = Array.from({ length: 200 }, (_, i) => i + 1)
    c.send(Buffer.concat(ids.map((id) => pythonRequest(id, 'echo', [id]))))
    for (const id of ids) expect(await c.next()).toEqual({ id, result: [id] })
  })

  it('serves connections concurrently', async () => {
    const { handler, port } = await start()
    const slow = await client(port)
    slow.send(pythonRequest(1, 'wait', ['slow']))
    await handler.started.promise
    const fast = await client(port)
    expect(await fast.call(1, 'echo', ['fast'])).toEqual({ id: 1, result: ['fast'] })
    handler.gate.resolve()
    expect(await slow.next()).toEqual({ id: 1, result: 'slow' })
    expect(handler.calls[0]!.connectionId).not.toBe(handler.calls[1]!.connectionId)
  })

  it('turns a thrown error into error.message', async () => {
    const { port } = await start()
    const c = await client(port)
    expect(await c.call(6, 'fail', ['x'])).toEqual({ id: 6, error: { message: 'boom x' } })
    expect(await c.call(7, 'date', [])).toEqual({ id: 7, error: { message: expect.stringContaining('cannot send Date') } })
    expect(await c.call(8, 'echo', ['ok'])).toEqual({ id: 8, result: ['ok'] })
  })

  it('answers requests that are not valid, with their id when it can be read', async () => {
    const { port } = await start()
    const c = await client(port)
    c.send(envelope(hex(`a2 ${key('id')} 03 ${key('params')} 80`)))
    expect(await c.next()).toEqual({ id: 3, error: { message: 'the request has no method' } })
    c.send(envelope(hex(`a3 ${key('id')} 04 ${key('method')} 44 ${Buffer.from('echo').toString('hex')} ${key('params')} a0`)))
    expect(await c.next()).toEqual({ id: 4, error: { message: 'params must be an array, not Object' } })
    c.send(hex('01'))
    expect(await c.next()).toEqual({ id: null, error: { message: 'a message must be a map, not CBOR major type 0' } })
    expect(await c.call(5, 'echo', [])).toEqual({ id: 5, result: [] })
  })

  it('answers an unknown tag with an error and keeps the connection', async () => {
    const { port } = await start()
    const c = await client(port)
    c.send(envelope(hex(`a3 ${key('id')} 05 ${key('method')} 44 ${Buffer.from('echo').toString('hex')} ${key('params')} 81 d863 01`)))
    expect(await c.next()).toEqual({ id: 5, error: { message: 'unsupported CBOR tag 99 in params' } })
    expect(await c.call(6, 'echo', [])).toEqual({ id: 6, result: [] })
  })

  it('closes on a truncated request and keeps serving others', async () => {
    const { port, warnings } = await start()
    const c = await client(port)
    const request = pythonRequest(1, 'echo', ['cut'])
    c.send(request.subarray(0, request.length - 3))
    c.end()
    expect(await c.rest()).toEqual([])
    expect(warnings.some((w) => w.includes('in the middle of a message'))).toBe(true)
    await expectServes(port)
  })

  it('closes on garbage and keeps serving others', async () => {
    const { port } = await start()
    const c = await client(port)
    c.send(hex('ffffffffffffffff'))
    const rest = await c.rest()
    expect(rest).toEqual([{ id: null, error: { message: expect.stringContaining('break byte') } }])
    await expectServes(port)
  })

  it('answers requests that arrived before garbage in the same write', async () => {
    const { port } = await start()
    const c = await client(port)
    c.send(Buffer.concat([pythonRequest(1, 'echo', ['before']), hex('ff')]))
    expect(await c.rest()).toEqual([{ id: 1, result: ['before'] }, { id: null, error: expect.anything() }])
  })

  it('drops a connection announcing a 1 GiB byte string at once', async () => {
    const { port } = await start()
    const bare = await client(port)
    bare.send(hex('5a 40000000'))
    expect(await bare.rest()).toEqual([{ id: null, error: { message: expect.stringContaining('larger than 67108864 bytes') } }])
    const wrapped = await client(port)
    wrapped.send(hex('d818 5a 40000000'))
    await wrapped.closed
    await expectServes(port)
  })

  it('drops a connection whose unparsed bytes pass the frame limit', async () => {
    const { port } = await start({ maxFrameBytes: 1024 })
    const c = await client(port)
    c.send(Buffer.concat([hex('9f'), Buffer.alloc(2000)]))
    await c.closed
    await expectServes(port)
  })

  it('refuses deep nesting without overflowing the stack', async () => {
    const { port } = await start()
    const bare = await client(port)
    bare.send(Buffer.concat([Buffer.alloc(100_000, 0x81), hex('00')]))
    expect(await bare.rest()).toEqual([{ id: null, error: { message: expect.stringContaining('nested more than 256 deep') } }])
    // Inside the envelope the stream stays in step, so the request is answered and the connection kept.
    const wrapped = await client(port)
    const deepParams = Buffer.concat([Buffer.alloc(100_000, 0x81), hex('00')])
    wrapped.send(envelope(hex(`a3 ${key('id')} 07 ${key('method')} 41 78 ${key('params')} 81 ${deepParams.toString('hex')}`)))
    expect(await wrapped.next()).toEqual({ id: 7, error: { message: expect.stringContaining('nested more than') } })
    expect(await wrapped.call(8, 'echo', [])).toEqual({ id: 8, result: [] })
  })

  it('survives a client resetting the connection mid-request', async () => {
    const { server, handler, port } = await start()
    const c = await client(port)
    c.send(pythonRequest(1, 'wait', ['lost']))
    await handler.started.promise
    c.socket.resetAndDestroy()
    await c.closed
    handler.gate.resolve()
    await expectServes(port)
    await server.close()
    expect(server.connectionCount).toBe(0)
  })

  it('lets an in-flight request finish on close(), then refuses new connections', async () => {
    const { server, handler, port } = await start()
    const c = await client(port)
    c.send(pythonRequest(1, 'wait', ['finished']))
    await handler.started.promise
    const closing = server.close()
    expect(server.close()).toBe(closing)
    const refused = connect({ host: '127.0.0.1', port })
    const [error] = (await once(refused, 'error')) as [NodeJS.ErrnoException]
    expect(error.code).toBe('ECONNREFUSED')
    handler.gate.resolve()
    expect(await c.rest()).toEqual([{ id: 1, result: 'finished' }])
    await closing
    expect(server.connectionCount).toBe(0)
  })

  it('refuses connections beyond maxConnections', async () => {
    const { port } = await start({ maxConnections: 1 })
    const first = await client(port)
    expect(await first.call(1, 'echo', [])).toEqual({ id: 1, result: [] })
    const second = await client(port)
    await second.closed
    expect(await first.call(2, 'echo', [])).toEqual({ id: 2, result: [] })
  })

  it('answers a client that half-closes after sending', async () => {
    const { port } = await start()
    const c = await client(port)
    c.send(Buffer.concat([pythonRequest(1, 'echo', ['a']), envelope(requestPayload(2, 'null', []))]))
    c.end()
    expect(await c.rest()).toEqual([
      { id: 1, result: ['a'] },
      { id: 2, result: null },
    ])
  })
})
