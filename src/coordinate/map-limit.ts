/** Runs `fn` over `items` with at most `limit` calls in flight, keeping the order; bounds the queries one request puts on the pool. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++
      try {
        results[index] = await fn(items[index]!, index)
      } catch (error) {
        // The call has failed as a whole; stop starting reads whose results nobody will see.
        next = items.length
        throw error
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker))
  return results
}

/** How many reads one request (an RPC, an HTTP call, a CLI command) runs at once. */
export const READ_PARALLELISM = 8
