import type pg from 'pg'

/** Polls until a session of the database `admin` is connected to waits for a lock. */
export async function waitForLockWait(admin: pg.Client): Promise<void> {
  for (;;) {
    const { rows } = await admin.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
    )
    if (rows[0]!.n > 0) return
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
