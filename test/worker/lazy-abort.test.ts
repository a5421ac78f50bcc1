import { describe, expect, it } from 'vitest'
import { LazyAbort } from '../../src/worker/lazy-abort.js'

describe('LazyAbort', () => {
  it('aborts a signal made before the abort, with the reason', () => {
    const abort = new LazyAbort()
    const signal = abort.signal
    let heard: unknown
    signal.addEventListener('abort', () => (heard = signal.reason))
    abort.abort('lost')
    expect(signal.aborted).toBe(true)
    expect(heard).toBe('lost')
  })

  it('makes an already aborted signal when the abort came first', () => {
    const abort = new LazyAbort()
    abort.abort('shutdown')
    expect(abort.signal.aborted).toBe(true)
    expect(abort.signal.reason).toBe('shutdown')
  })

  it('keeps the first reason and the same signal', () => {
    const abort = new LazyAbort()
    abort.abort('first')
    abort.abort('second')
    expect(abort.signal).toBe(abort.signal)
    expect(abort.signal.reason).toBe('first')
  })

  it('leaves an unread, unaborted signal unaborted', () => {
    expect(new LazyAbort().signal.aborted).toBe(false)
  })
})
