import { afterAll, describe, expect, it } from 'vitest'
import { CborRpcClient, RpcConnectionError, RpcRemoteError } from '../../src/cborrpc/client.js'
import { CborRpcServer } from '../../src/cborrpc/server.js'
import { Tuple } from '../../src/coordinate/data.js'

// The CLI's CBOR-RPC client against the package's own server with a scripted handler.
const seen: { method: string; params: unknown[] }[] = []
const server = new CborRpcServer(async (method, params) => {
  seen.push({ method, params })
  if (method === 'fail') throw new Error('no such work_spec')
  if (method === 'slow') await new Promise((resolve) => setTimeout(resolve, 50))
  return [method, params.length]
})
const { port } = await server.listen()
afterAll(() => server.close())

describe('CborRpcClient', () => {
  it('sends requests one at a time, in order, and decodes results and tuples', async () => {
    const client = new CborRpcClient({ host: '127.0.0.1', port })
    try {
      seen.length = 0
      const answers = await Promise.all([client.call('slow', []), client.call('a', [Tuple.of('k', { n: 1 })]), client.call('b', [1, 2])])
      expect(answers).toEqual([['slow', 0], ['a', 1], ['b', 2]])
      expect(seen.map((request) => request.method)).toEqual(['slow', 'a', 'b'])
      expect(seen[1]!.params).toEqual([Tuple.of('k', { n: 1 })])
    } finally {
      await client.close()
    }
  })

  it('turns an error answer into RpcRemoteError and keeps the connection usable', async () => {
    const client = new CborRpcClient({ host: '127.0.0.1', port })
    try {
      const failure = await client.call('fail', []).catch((error: unknown) => error)
      expect(failure).toBeInstanceOf(RpcRemoteError)
      expect(failure).toMatchObject({ method: 'fail', message: 'no such work_spec' })
      expect(await client.call('after', [])).toEqual(['after', 0])
    } finally {
      await client.close()
    }
  })

  it('names the address when it cannot connect, and refuses calls once closed', async () => {
    const unreachable = new CborRpcClient({ host: '127.0.0.1', port: 1 })
    await expect(unreachable.call('now', [])).rejects.toThrow(new RpcConnectionError('cannot connect to 127.0.0.1:1: ECONNREFUSED'))
    const client = new CborRpcClient({ host: '127.0.0.1', port })
    await client.call('x', [])
    await client.close()
    await expect(client.call('x', [])).rejects.toBeInstanceOf(RpcConnectionError)
  })
})
