import type { WorkUnitKey } from '../coordinate/data.js'
import { canonicalKey } from './unit-key.js'
import type { WorkUnitProxy } from './work-unit-proxy.js'

/** Bulk writes naming more units than this invalidate the whole spec instead of unit by unit. */
const PER_UNIT_INVALIDATION_LIMIT = 1_000

/** The part of a spec proxy a bulk write's invalidation touches. */
export interface BulkWriteTarget {
  invalidateUnits(): void
  invalidateKey(canonical: string): void
  cachedUnit(canonical: string): WorkUnitProxy | undefined
  cachedUnits(): IterableIterator<WorkUnitProxy>
}

/**
 * Invalidates the cached units a bulk write named, whether or not it committed (a failure may be
 * a lost reply to a commit). Many names, or none (a query without names), cost one epoch bump
 * instead of a walk. `handOut` also marks the units as handed out again, so a pending forget()
 * does not drop a unit the write just re-added.
 */
export function invalidateBulkWrite(spec: BulkWriteTarget, keys: readonly (WorkUnitKey | undefined)[] | undefined, handOut: boolean): void {
  if (keys === undefined || keys.length > PER_UNIT_INVALIDATION_LIMIT) {
    spec.invalidateUnits()
    if (handOut) for (const unit of spec.cachedUnits()) unit.handedOut()
    return
  }
  for (const key of keys) {
    const canonical = key === undefined ? undefined : canonicalKey(key)
    if (canonical === undefined) continue
    spec.invalidateKey(canonical)
    if (handOut) spec.cachedUnit(canonical)?.handedOut()
  }
}
