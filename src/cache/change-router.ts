import type { ChangeEvent } from '../coordinate/change-feed.js'
import type { CacheContext } from './cache-context.js'
import type { RefreshLoop } from './refresh-loop.js'
import { canonicalKey } from './unit-key.js'

/**
 * Turns change notifications into invalidations. A notification drops snapshots (the next read
 * goes to the database) rather than re-reading them: only processes that read the entry again
 * pay, and a burst of writes costs each reader one read, not one per write.
 *
 * `resync` (the listener reconnected, so notifications may have been lost) starts a new
 * generation: no snapshot of the old one is served until a read or the refresh cycle started
 * here confirms it by version, and every handle is looked up again by name.
 */
export function routeChange(ctx: CacheContext, loop: RefreshLoop, event: ChangeEvent): void {
  ctx.metrics.notifications.inc({ kind: event.kind })
  switch (event.kind) {
    case 'work-units': {
      const spec = ctx.namespaces.peek(event.namespace)?.cachedSpec(event.workSpec)
      if (spec === undefined) return
      if (event.keys === null) {
        spec.invalidateUnits()
        return
      }
      for (const key of event.keys) {
        const canonical = canonicalKey(key)
        if (canonical !== undefined) spec.invalidateKey(canonical)
      }
      return
    }
    case 'work-spec': {
      // Updated, created or deleted: the payload does not say, so the handle is checked again too.
      const spec = ctx.namespaces.peek(event.namespace)?.cachedSpec(event.workSpec)
      spec?.invalidateSnapshot()
      spec?.resetHandle()
      return
    }
    case 'namespace':
      ctx.namespaces.peek(event.namespace)?.staleRow()
      return
    case 'resync':
      ctx.options.logger?.info({ source: 'cache' }, 'change feed reconnected; cached entries are re-read')
      ctx.newGeneration()
      for (const ns of ctx.namespaces.values()) ns.resetHandles()
      loop.kick()
      return
  }
}
