import type { Attempt } from '../coordinate/api.js'
import { WrongBackendError } from '../coordinate/errors.js'
import type { Store } from './store.js'

/** The ids a batch statement names an attempt by: its unit's and its own. */
export interface AttemptIds {
  unitId: string
  id: string
}

/** The ids of one of this store's attempts; WrongBackendError for another backend's handle (or another store's). */
export function attemptIds(store: Store, attempt: Attempt): AttemptIds {
  // Read by shape, not instanceof PostgresAttempt: attempt.ts calls the batch paths that use
  // this, so importing it here would close a cycle.
  const handle = attempt as { id?: unknown; workUnit?: { id?: unknown }; worker?: { namespace?: { store?: unknown } } }
  if (handle.worker?.namespace?.store !== store) throw new WrongBackendError()
  return { unitId: String(handle.workUnit?.id), id: String(handle.id) }
}
