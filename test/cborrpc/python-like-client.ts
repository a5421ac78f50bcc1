import { once } from 'node:events'
import { type Socket, connect } from 'node:net'
import { decodeData, encodePrepared, toCborValue } from '../../src/coordinate/cbor-data.js'
import type { DataValue } from '../../src/coordinate/data.js'

// A test-side client written from the protocol facts, not from the server's codec: requests are
// maps with byte-string keys and a byte-string method name, as the Python 2 client sends them,
// wrapped in tag 24; responses are read by parsing the tag-24 envelope header by hand.

const bytes = (text: string): Buffer => Buffer.from(text, 'utf8')

/** A decoded response map, keys as text. */
export type ResponseMap = Record<string, DataValue>

/** Wraps a CBOR payload in tag 24 + byte string, as the Python client's `cbor_return` does. */
export function envelope(payload: Uint8Array): Buffer {
  const n = payload.length
  const header =
    n < 24 ? [0x40 | n] : n < 0x100 ? [0x58, n] : n < 0x10000 ? [0x59, n >> 8, n & 0xff] : [0x5a, n >>> 24, (n >> 16) & 0xff, (n >> 8) & 0xff, n & 0xff]
  return Buffer.concat([Buffer.from([0xd8, 0x18, ...header]), payload])
}

/** The bytes of the request map alone (no envelope), with Python 2 byte-string keys. */
export function requestPayload(id: number, method: string, params: DataValue[]): Buffer {
  const map = new Map<unknown, unknown>([
    [bytes('id'), id],
    [bytes('method'), bytes(method)],
    [bytes('params'), params],
  ])
  return Buffer.from(encodePrepared(toCborValue(map)))
}

/** A whole request as the Python 2 client would send it. */
export function pythonRequest(id: number, method: string, params: DataValue[]): Buffer {
  return envelope(requestPayload(id, method, params))
}

/** A TCP client that collects responses and knows when the server closed the connection. */
export class TestClient {
  readonly socket: Socket
  readonly closed: Promise<void>
  #received = Buffer.alloc(0)
  #waiters: (() => void)[] = []
  #isClosed = false

  private constructor(socket: Socket) {
    this.socket = socket
    socket.setNoDelay(true)
    socket.on('data', (chunk: Buffer) => {
      this.#received = Buffer.concat([this.#received, chunk])
      this.#wake()
    })
    // Resets are part of what these tests provoke; they only mean "closed" here.
    socket.on('error', () => undefined)
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.#isClosed = true
        this.#wake()
        resolve()
      }),
    )
  }

  /** Connects to a server on localhost. */
  static async connect(port: number): Promise<TestClient> {
    const socket = connect({ host: '127.0.0.1', port })
    await once(socket, 'connect')
    return new TestClient(socket)
  }

  /** Sends raw bytes. */
  send(data: Uint8Array): void {
    this.socket.write(data)
  }

  /** Sends bytes one at a time, each in its own write, waiting for each to be flushed. */
  async sendByteByByte(data: Uint8Array): Promise<void> {
    for (const byte of data) {
      await new Promise<void>((resolve, reject) => this.socket.write(Uint8Array.of(byte), (error) => (error ? reject(error) : resolve())))
    }
  }

  /** Sends a Python-style request and waits for the next response. */
  async call(id: number, method: string, params: DataValue[]): Promise<ResponseMap> {
    this.send(pythonRequest(id, method, params))
    return this.next()
  }

  /** The raw bytes of the next response (envelope included); rejects if the server closes first. */
  async nextRaw(): Promise<Buffer> {
    for (;;) {
      const length = envelopeLength(this.#received)
      if (length !== undefined && this.#received.length >= length) {
        const message = this.#received.subarray(0, length)
        this.#received = this.#received.subarray(length)
        return message
      }
      if (this.#isClosed) throw new Error(`connection closed (${this.#received.length} stray bytes)`)
      await new Promise<void>((resolve) => this.#waiters.push(resolve))
    }
  }

  /** The next response, decoded. */
  async next(): Promise<ResponseMap> {
    return decodeResponse(await this.nextRaw())
  }

  /** Everything the server sends until it closes the connection, as decoded responses. */
  async rest(): Promise<ResponseMap[]> {
    await this.closed
    const responses: ResponseMap[] = []
    while (this.#received.length > 0) responses.push(await this.next())
    return responses
  }

  /** Closes our side. */
  end(): void {
    this.socket.end()
  }

  #wake(): void {
    const waiters = this.#waiters
    this.#waiters = []
    for (const wake of waiters) wake()
  }
}

/** Decodes a response: checks the tag-24 envelope and returns the inner map with text keys. */
export function decodeResponse(message: Uint8Array): ResponseMap {
  const length = envelopeLength(Buffer.from(message))
  if (length !== message.length) throw new Error('not exactly one tag-24 envelope')
  const headerSize = message.length - payloadLength(Buffer.from(message))
  const value = decodeData(message.subarray(headerSize))
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Map) {
    throw new Error('response is not a map with string keys')
  }
  return value as ResponseMap
}

function payloadLength(data: Buffer): number {
  const info = data[2]! & 0x1f
  return info < 24 ? info : info === 24 ? data[3]! : info === 25 ? data.readUInt16BE(3) : data.readUInt32BE(3)
}

// Total length of the tag-24 message at the start of `data`, once its header has arrived.
function envelopeLength(data: Buffer): number | undefined {
  if (data.length < 3) return undefined
  if (data[0] !== 0xd8 || data[1] !== 0x18 || data[2]! >> 5 !== 2) {
    throw new Error(`response does not start with a tag-24 byte string: ${data.subarray(0, 8).toString('hex')}`)
  }
  const info = data[2]! & 0x1f
  const headerSize = info < 24 ? 3 : info === 24 ? 4 : info === 25 ? 5 : info === 26 ? 7 : undefined
  if (headerSize === undefined) throw new Error(`unexpected byte-string header ${data[2]}`)
  if (data.length < headerSize) return undefined
  return headerSize + payloadLength(data)
}
