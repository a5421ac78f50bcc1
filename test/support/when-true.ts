import type { ChangeFeed } from '../../src/coordinate/change-feed.js'

/** Resolves once `check` holds, checking now and after every change the feed reports. */
export async function whenTrue(feed: ChangeFeed, check: () => Promise<boolean>): Promise<void> {
  let changed = (): void => undefined
  const unsubscribe = feed.subscribe(() => changed())
  try {
    for (;;) {
      const next = new Promise<void>((resolve) => (changed = resolve))
      if (await check()) return
      await next
    }
  } finally {
    unsubscribe()
  }
}
