import { once } from 'node:events'
import { type Socket, connect } from 'node:net'
import { decodeResponse, encodeRequest } from '../src/cborrpc/codec.js'
import { Framer } from '../src/cborrpc/framer.js'
import { type DataValue, Tuple, describe } from '../src/coordinate/data.js'

// The benchmarks' CBOR-RPC client side: what a Python worker sends, without the Python.

/** The units in a get_work answer: one (spec, key, data) tuple for max_jobs 1, a list otherwise. */
export function claimed(value: DataValue): Tuple[] {
  if (value instanceof Tuple) return value.items[0] === null ? [] : [value]
  if (Array.isArray(value)) {
    return value.map((item) => {
      if (!(item instanceof Tuple)) throw new Error(`get_work returned ${describe(item)} in its list`)
      return item
    })
  }
  throw new Error(`get_work returned ${describe(value)}`)
}

/** The value of a successful `(value, None)` pair; throws on an in-band failure. */
export function pairValue(result: DataValue, method: string): DataValue {
  if (!Array.isArray(result) || result.length !== 2 || result[1] !== null) throw new Error(`${method} failed: ${describe(result)}`)
  return result[0] ?? null
}

/** A minimal CBOR-RPC client on one TCP connection; the server answers in order, so no id matching beyond a check. */
export class RpcClient {
  readonly #socket: Socket
  readonly #framer = new Framer()
  readonly #waiting: { resolve: (frame: Uint8Array) => void; reject: (error: Error) => void }[] = []
  #nextId = 1
  #failure: Error | undefined

  private constructor(socket: Socket) {
    this.#socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = this.#framer.push(chunk)
      for (const frame of frames) this.#waiting.shift()?.resolve(frame)
      if (error) this.#fail(error)
    })
    socket.on('error', (error) => this.#fail(error))
    socket.on('close', () => this.#fail(new Error('the daemon closed the connection')))
  }

  /** Connects to a daemon on localhost. */
  static async connect(port: number): Promise<RpcClient> {
    const socket = connect({ host: '127.0.0.1', port })
    await once(socket, 'connect')
    return new RpcClient(socket)
  }

  /** Sends one request and waits for its answer; an error answer is thrown. */
  async call(method: string, params: DataValue[]): Promise<DataValue> {
    if (this.#failure) throw this.#failure
    const id = this.#nextId++
    const frame = await new Promise<Uint8Array>((resolve, reject) => {
      this.#waiting.push({ resolve, reject })
      this.#socket.write(encodeRequest({ id, method, params }))
    })
    const response = decodeResponse(frame)
    if (response.id !== id) throw new Error(`${method}: answer for id ${describe(response.id)}, expected ${id}`)
    if ('error' in response) throw new Error(`${method}: ${response.error.message}`)
    return response.result as DataValue
  }

  /** Ends the connection and waits for it to close. */
  async close(): Promise<void> {
    const closed = once(this.#socket, 'close')
    this.#socket.end()
    await closed
  }

  #fail(error: Error): void {
    this.#failure ??= error
    for (const waiter of this.#waiting.splice(0)) waiter.reject(error)
  }
}

