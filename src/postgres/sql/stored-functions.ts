import { createHash } from 'node:crypto'
import { SPEC_HAS_AVAILABLE_UNIT_FUNCTION } from './available-unit.js'
import { CLAIM_FUNCTION, DROP_OLD_CLAIM_FUNCTIONS } from './claim.js'
import { CLAIM_FOR_WORKERS_FUNCTION } from './claim-for-workers.js'
import { CHAINED_OUTPUTS_FUNCTION, COMPLETE_FUNCTION } from './complete.js'
import { UNIT_COUNTS_FUNCTION } from './unit-counts.js'

/**
 * The stored functions the code calls, as CREATE OR REPLACE statements in install order. They
 * are not migrations: src/postgres/migrate.ts installs them after the migrations whenever
 * their text changed. A change to a function's parameters or result type needs the old one
 * dropped first (Postgres cannot replace those in place): by a migration (0002 did so), or by a
 * DROP FUNCTION IF EXISTS listed before the new text, as for the claim (DROP_OLD_CLAIM_FUNCTIONS).
 */
export const STORED_FUNCTIONS: readonly string[] = [
  SPEC_HAS_AVAILABLE_UNIT_FUNCTION,
  ...DROP_OLD_CLAIM_FUNCTIONS,
  CLAIM_FUNCTION,
  CLAIM_FOR_WORKERS_FUNCTION,
  COMPLETE_FUNCTION,
  CHAINED_OUTPUTS_FUNCTION,
  UNIT_COUNTS_FUNCTION,
]

/** The version of STORED_FUNCTIONS recorded in the schema: a hash of their text. */
export const STORED_FUNCTIONS_HASH = createHash('sha256').update(STORED_FUNCTIONS.join('\u0000')).digest('hex')
