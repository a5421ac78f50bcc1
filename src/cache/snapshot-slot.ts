/**
 * What a read knew when it started: the slot's write epoch, the scope epoch (a work spec's
 * "all its units changed" counter), the cache generation, and a sequence number that orders it
 * against reads that completed before it.
 */
export interface FetchTicket {
  readonly seq: number
  readonly epoch: number
  readonly scope: number
  readonly generation: number
}

/**
 * One cached, versioned snapshot and the rules for replacing it.
 *
 * A read result is applied only if nothing invalidated the slot since the read began (a local
 * write or a notification bumps the epoch; a lost-notification resync bumps the generation; a
 * bulk change bumps the scope), so a refresh that raced a write never overwrites it. Between
 * two reads that both began after the last invalidation, the one that began after the other
 * completed wins outright; otherwise the higher row version wins. Versions alone are not
 * enough: a unit deleted and re-added under its name starts again at version 1.
 */
export class SnapshotSlot<T extends { version: number }> {
  #value: T | undefined
  #completedSeq = -1
  #generation = -1
  #scope = -1
  #storedAt = 0
  #epoch = 0

  /** The snapshot if it is of this generation and scope and was stored at or after `notBefore` (clock ms). */
  valid(generation: number, scope: number, notBefore: number): T | undefined {
    const value = this.#value
    if (value === undefined || this.#generation !== generation || this.#scope !== scope || this.#storedAt < notBefore) {
      return undefined
    }
    return value
  }

  /** The snapshot held, valid or not. */
  get value(): T | undefined {
    return this.#value
  }

  /** When (clock ms) the snapshot held was stored. */
  get storedAt(): number {
    return this.#storedAt
  }

  /** Records what a read starting now knows. */
  ticket(seq: number, generation: number, scope: number): FetchTicket {
    return { seq, epoch: this.#epoch, scope, generation }
  }

  /** Stores a read's result unless the slot moved on since its ticket; true if stored. */
  apply(ticket: FetchTicket, value: T, completedSeq: number, generation: number, scope: number, now: number): boolean {
    if (!this.stillCurrent(ticket, generation, scope)) return false
    const current = this.#value
    if (current !== undefined && ticket.seq < this.#completedSeq && value.version < current.version) return false
    this.#store(value, completedSeq, generation, scope, now)
    return true
  }

  /** True if no invalidation happened since `ticket` was taken. */
  stillCurrent(ticket: FetchTicket, generation: number, scope: number): boolean {
    return ticket.epoch === this.#epoch && ticket.generation === generation && ticket.scope === scope
  }

  /** Stores the exact state a local write just produced (write-through). */
  replace(value: T, completedSeq: number, generation: number, scope: number, now: number): void {
    this.#store(value, completedSeq, generation, scope, now)
  }

  /** Drops the snapshot and turns away every read already under way. */
  invalidate(): void {
    this.#value = undefined
    this.#epoch++
  }

  #store(value: T, completedSeq: number, generation: number, scope: number, now: number): void {
    this.#value = value
    this.#completedSeq = completedSeq
    this.#generation = generation
    this.#scope = scope
    this.#storedAt = now
  }
}
