import type { DataDict } from './data.js'

/**
 * A claimed unit's data, held until taken (Attempt.takeClaimData). Attempts live as long as
 * their leases, many thousands of them in the daemon's and the REST server's lookups, so the
 * decoded data must go with its one reader rather than stay with the attempt.
 */
export class ClaimData {
  #data: DataDict | undefined

  constructor(data?: DataDict) {
    this.#data = data
  }

  /** The data the first time, undefined after (and when the claim brought none). */
  take(): DataDict | undefined {
    const data = this.#data
    this.#data = undefined
    return data
  }
}
