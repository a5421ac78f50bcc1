/**
 * One load per key at a time: callers that ask while a load for their key is running share its
 * promise, and the key is free again once it settles (a later load is not mistaken for it).
 */
export function singleFlight<K, T>(running: Map<K, Promise<T>>, key: K, load: () => Promise<T>): Promise<T> {
  const current = running.get(key)
  if (current !== undefined) return current
  const started: Promise<T> = load().finally(() => {
    if (running.get(key) === started) running.delete(key)
  })
  running.set(key, started)
  return started
}
