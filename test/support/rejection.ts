import { expect } from 'vitest'

/** What `call` rejected with; the test fails if it resolved, or rejected with anything but a `type`. */
export async function rejection<E extends Error>(call: Promise<unknown>, type: abstract new (...args: never[]) => E): Promise<E> {
  const error = await call.then(
    () => new Error('succeeded'),
    (e: unknown) => e,
  )
  expect(error).toBeInstanceOf(type)
  return error as E
}
