import { type Socket, connect } from 'node:net'
import type { DataValue } from '../coordinate/data.js'
import { decodeResponse, encodeRequest } from './codec.js'
import { Framer } from './framer.js'

/** Where a CborRpcClient connects, and how long it waits. */
export interface CborRpcClientOptions {
  readonly host: string
  readonly port: number
  /** How long connecting may take before it fails (default 5 s). */
  readonly connectTimeoutMs?: number
  /** How long one call may wait for its answer (default: no limit). */
  readonly callTimeoutMs?: number
}

/** The daemon could not be reached, or the connection broke; the message names the address. */
export class RpcConnectionError extends Error {
  override name = 'RpcConnectionError'
}

/** The daemon answered a call with an error. */
export class RpcRemoteError extends Error {
  override name = 'RpcRemoteError'
  constructor(readonly method: string, message: string) {
    super(message)
  }
}

const DEFAULT_CONNECT_TIMEOUT_MS = 5_000

interface Waiting {
  readonly id: number
  readonly method: string
  resolve(value: unknown): void
  reject(error: Error): void
}

/**
 * A CBOR-RPC client on one TCP connection, speaking as the Python client does: one request at a
 * time, sequential ids from 1, each answered before the next is sent. Calls made while one is
 * running wait their turn, so a caller may issue them without awaiting each.
 */
export class CborRpcClient {
  readonly address: string
  readonly #options: CborRpcClientOptions
  readonly #framer = new Framer()
  #socket: Socket | undefined
  #connecting: Promise<Socket> | undefined
  #nextId = 1
  #waiting: Waiting | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #broken: Error | undefined

  constructor(options: CborRpcClientOptions) {
    this.#options = options
    this.address = `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`
  }

  /** Sends one request and returns its `result`; throws RpcRemoteError for an `error` answer. */
  call(method: string, params: DataValue[]): Promise<unknown> {
    const run = this.#queue.then(() => this.#send(method, params))
    this.#queue = run.catch(() => undefined)
    return run
  }

  /** Closes the connection; later calls fail. */
  async close(): Promise<void> {
    this.#broken ??= new RpcConnectionError(`the connection to ${this.address} is closed`)
    const socket = this.#socket ?? (await this.#connecting?.catch(() => undefined))
    if (!socket || socket.destroyed) return
    await new Promise<void>((resolve) => {
      socket.once('close', () => resolve())
      socket.end()
      // A daemon that does not close its side must not keep the process alive.
      setTimeout(() => socket.destroy(), 1_000).unref()
    })
  }

  async #send(method: string, params: DataValue[]): Promise<unknown> {
    if (this.#broken) throw this.#broken
    const socket = await this.#connect()
    const id = this.#nextId++
    const frame = encodeRequest({ id, method, params })
    return new Promise<unknown>((resolve, reject) => {
      let timer: NodeJS.Timeout | undefined
      const settle = <T>(fn: (value: T) => void) => (value: T): void => {
        clearTimeout(timer)
        this.#waiting = undefined
        fn(value)
      }
      this.#waiting = { id, method, resolve: settle(resolve), reject: settle(reject) }
      const timeoutMs = this.#options.callTimeoutMs
      if (timeoutMs !== undefined) {
        timer = setTimeout(() => this.#fail(new RpcConnectionError(`${this.address} did not answer ${method} within ${timeoutMs} ms`)), timeoutMs)
      }
      socket.write(frame)
    })
  }

  #connect(): Promise<Socket> {
    if (this.#socket) return Promise.resolve(this.#socket)
    this.#connecting ??= new Promise<Socket>((resolve, reject) => {
      const timeoutMs = this.#options.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS
      const socket = connect({ host: this.#options.host, port: this.#options.port })
      const timer = setTimeout(() => {
        socket.destroy()
        reject(new RpcConnectionError(`cannot connect to ${this.address}: no answer within ${timeoutMs} ms`))
      }, timeoutMs)
      socket.once('error', (error: NodeJS.ErrnoException) => {
        clearTimeout(timer)
        reject(new RpcConnectionError(`cannot connect to ${this.address}: ${error.code ?? error.message}`))
      })
      socket.once('connect', () => {
        clearTimeout(timer)
        socket.removeAllListeners('error')
        socket.setNoDelay(true)
        this.#attach(socket)
        this.#socket = socket
        resolve(socket)
      })
    })
    return this.#connecting
  }

  #attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      const { frames, error } = this.#framer.push(chunk)
      for (const frame of frames) this.#receive(frame)
      if (error) this.#fail(new RpcConnectionError(`${this.address} sent something unreadable: ${error.message}`))
    })
    socket.on('error', (error: NodeJS.ErrnoException) => this.#fail(new RpcConnectionError(`connection to ${this.address} failed: ${error.code ?? error.message}`)))
    socket.on('close', () => this.#fail(new RpcConnectionError(`${this.address} closed the connection`)))
  }

  #receive(frame: Uint8Array): void {
    const waiting = this.#waiting
    if (!waiting) return this.#fail(new RpcConnectionError(`${this.address} sent an answer nobody asked for`))
    let response
    try {
      response = decodeResponse(frame)
    } catch (error) {
      return this.#fail(new RpcConnectionError(`${this.address} sent a bad answer to ${waiting.method}: ${(error as Error).message}`))
    }
    if (response.id !== waiting.id) return this.#fail(new RpcConnectionError(`${this.address} answered id ${String(response.id)}, not ${waiting.id}`))
    if ('result' in response) waiting.resolve(response.result)
    else waiting.reject(new RpcRemoteError(waiting.method, response.error.message))
  }

  // The stream is out of step or gone: the call in flight and every later one fail.
  #fail(error: Error): void {
    this.#broken ??= error
    this.#socket?.destroy()
    this.#waiting?.reject(error)
  }
}
