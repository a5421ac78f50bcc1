import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { InFlight } from '../../src/cli/in-flight.js'

// A garbage collector we can call: the flag is honoured by contexts created after it is set.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

const context = { connectionId: 1 }

async function collected(ref: WeakRef<object>): Promise<boolean> {
  // A WeakRef's target is kept until the current job ends: let it end, then collect.
  for (let i = 0; i < 5 && ref.deref() !== undefined; i++) {
    await new Promise((resolve) => setImmediate(resolve))
    gc()
  }
  return ref.deref() === undefined
}

describe('InFlight', () => {
  it('keeps nothing of an answered request (the soak found every answer kept until shutdown)', async () => {
    const requests = new InFlight()
    requests.serve(async () => ({ answer: new Uint8Array(1024) }))
    let ref: WeakRef<object> | undefined
    const answer = async (): Promise<void> => {
      const result = (await requests.handler('get_work', [], context)) as { answer: Uint8Array }
      expect(result.answer.length).toBe(1024)
      ref = new WeakRef(result)
    }
    await answer()
    expect(await collected(ref!)).toBe(true)
    expect(requests.count).toBe(0)
  })

  it('answers requests that arrived before serve() once it is called', async () => {
    const requests = new InFlight()
    const early = requests.handler('ping', [], context)
    expect(requests.count).toBe(1)
    requests.serve(async (method) => `${method}: pong`)
    expect(await early).toBe('ping: pong')
    expect(requests.count).toBe(0)
  })

  it('abandon() fails running and waiting requests at once, and every later one', async () => {
    const requests = new InFlight()
    const waiting = requests.handler('before serve', [], context)
    requests.serve(() => new Promise(() => undefined))
    const running = requests.handler('hangs', [], context)
    expect(requests.count).toBe(2)
    requests.abandon()
    await expect(waiting).rejects.toThrow('the request was abandoned')
    await expect(running).rejects.toThrow('the request was abandoned')
    expect(requests.count).toBe(0)
    await expect(requests.handler('later', [], context)).rejects.toThrow('shutting down')
  })
})
