import type { Socket } from 'node:net'
import type { ScanLimits } from './cbor-scan.js'
import { decodeRequest, encodeResponse } from './codec.js'
import { MessageError } from './errors.js'
import { Framer } from './framer.js'
import type { RpcHandler, RpcLogger } from './server.js'

// Past this many received but unanswered requests, stop reading until the queue shrinks.
const QUEUE_HIGH = 32
const QUEUE_LOW = 8

/** What a connection needs from its server. */
export interface ConnectionSettings {
  readonly handler: RpcHandler
  readonly logger: RpcLogger
  readonly limits: ScanLimits
  /** How long to wait for the peer to close after we have ended our side. */
  readonly lingerMs: number
}

/**
 * One client connection: frames the incoming bytes, answers requests one at a time in the order
 * they arrived, and ends the socket once it has nothing left to answer. Never throws out of an
 * event handler; every failure ends up as an error response, a log line, or a closed socket.
 */
export class RpcConnection {
  readonly id: number
  readonly #socket: Socket
  readonly #settings: ConnectionSettings
  readonly #framer: Framer
  readonly #queue: Uint8Array[] = []
  readonly #finished: Promise<void>
  #resolveFinished!: () => void
  /** open: reading requests; draining: answering what has arrived, then ending; ended: socket.end() called. */
  #state: 'open' | 'draining' | 'ended' = 'open'
  #closed = false
  #serving = false
  #paused = false
  #farewell: string | undefined
  #lingerTimer: NodeJS.Timeout | undefined

  constructor(id: number, socket: Socket, settings: ConnectionSettings) {
    this.id = id
    this.#socket = socket
    this.#settings = settings
    this.#framer = new Framer(settings.limits)
    this.#finished = new Promise((resolve) => {
      this.#resolveFinished = resolve
    })
    socket.setNoDelay(true)
    socket.setKeepAlive(true, 60_000)
    socket.on('data', (chunk: Buffer) => this.#receive(chunk))
    socket.on('end', () => this.#peerEnded())
    socket.on('error', (error: NodeJS.ErrnoException) => this.#socketError(error))
    socket.on('close', () => this.#socketClosed())
  }

  /** Settles once the socket is closed and no handler call for this connection is still running. */
  get finished(): Promise<void> {
    return this.#finished
  }

  /** Stops reading requests; those already received are answered, then the socket is ended. */
  drain(): void {
    if (this.#state === 'open') this.#state = 'draining'
    this.#pump()
  }

  #receive(chunk: Buffer): void {
    // After draining starts, later bytes are read and dropped so that closing does not reset
    // the connection (unread input makes the kernel send RST, which can destroy our last answers).
    if (this.#state !== 'open') return
    const { frames, error } = this.#framer.push(chunk)
    for (const frame of frames) this.#queue.push(frame)
    if (error) {
      this.#log('warn', `unreadable request stream, closing: ${error.message}`)
      // Best effort: a client that can still read learns why the connection went away.
      this.#farewell = `${error.message}; closing the connection`
      this.#state = 'draining'
    } else if (this.#queue.length >= QUEUE_HIGH && !this.#paused) {
      this.#paused = true
      this.#socket.pause()
    }
    this.#pump()
  }

  #peerEnded(): void {
    if (this.#framer.pendingBytes > 0 && this.#state === 'open') {
      this.#log('warn', `peer closed in the middle of a message (${this.#framer.pendingBytes} bytes unread)`)
    }
    if (this.#state === 'open') this.#state = 'draining'
    this.#pump()
  }

  #socketError(error: NodeJS.ErrnoException): void {
    const level = error.code === 'ECONNRESET' || error.code === 'EPIPE' ? 'info' : 'warn'
    this.#log(level, `socket error ${error.code ?? ''}`.trim(), error)
  }

  #socketClosed(): void {
    this.#closed = true
    this.#queue.length = 0
    if (this.#lingerTimer) clearTimeout(this.#lingerTimer)
    this.#pump()
  }

  #pump(): void {
    if (this.#serving) return
    if (this.#queue.length > 0 && !this.#closed) {
      this.#serving = true
      this.#serve().then(
        () => this.#served(),
        (error: unknown) => {
          this.#log('error', 'connection failed', error)
          this.#socket.destroy()
          this.#served()
        },
      )
      return
    }
    if (this.#closed) this.#resolveFinished()
    else if (this.#state === 'draining') this.#end()
  }

  #served(): void {
    this.#serving = false
    this.#pump()
  }

  async #serve(): Promise<void> {
    while (this.#queue.length > 0 && !this.#closed) {
      const frame = this.#queue.shift()!
      if (this.#paused && this.#queue.length <= QUEUE_LOW && this.#state === 'open') {
        this.#paused = false
        this.#socket.resume()
      }
      const response = await this.#answer(frame)
      await this.#write(response)
    }
  }

  async #answer(frame: Uint8Array): Promise<Uint8Array> {
    let request
    try {
      request = decodeRequest(frame, { maxDepth: this.#settings.limits.maxDepth })
    } catch (error) {
      if (error instanceof MessageError) {
        this.#log('warn', `bad request: ${error.message}`)
        return encodeResponse({ id: error.id, error: { message: error.message } })
      }
      this.#log('error', 'decoding a request failed', error)
      return encodeResponse({ id: null, error: { message: 'cannot decode the request' } })
    }
    const { id, method, params } = request
    let result: unknown
    try {
      result = await this.#settings.handler(method, params, { connectionId: this.id })
    } catch (error) {
      this.#log('info', `${method} failed: ${errorText(error)}`)
      return encodeResponse({ id, error: { message: errorText(error) } })
    }
    try {
      return encodeResponse({ id, result })
    } catch (error) {
      this.#log('error', `the result of ${method} cannot be sent`, error)
      return encodeResponse({ id, error: { message: `the result of ${method} cannot be sent: ${errorText(error)}` } })
    }
  }

  async #write(bytes: Uint8Array): Promise<void> {
    const socket = this.#socket
    if (this.#closed || socket.writableEnded || socket.destroyed) return
    if (socket.write(bytes)) return
    // The peer is not reading its answers; wait rather than buffer them without bound.
    await new Promise<void>((resolve) => {
      const done = (): void => {
        socket.off('drain', done)
        socket.off('close', done)
        resolve()
      }
      socket.on('drain', done)
      socket.on('close', done)
    })
  }

  #end(): void {
    if (this.#state === 'ended' || this.#closed) return
    this.#state = 'ended'
    const socket = this.#socket
    if (this.#farewell !== undefined) {
      socket.write(encodeResponse({ id: null, error: { message: this.#farewell } }))
    }
    socket.end()
    if (this.#paused) socket.resume()
    // A peer that never closes its side must not keep the socket (or server.close()) waiting.
    this.#lingerTimer = setTimeout(() => socket.destroy(), this.#settings.lingerMs)
    this.#lingerTimer.unref()
  }

  #log(level: 'info' | 'warn' | 'error', message: string, error?: unknown): void {
    try {
      this.#settings.logger[level]?.(`cborrpc connection ${this.id}: ${message}`, error === undefined ? {} : { error })
    } catch {
      // A failing logger must not take the connection down with it.
    }
  }
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message
  try {
    return String(error)
  } catch {
    return 'unprintable error'
  }
}
