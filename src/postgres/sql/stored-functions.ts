import { createHash } from 'node:crypto'
import { SPEC_HAS_AVAILABLE_UNIT_FUNCTION } from './available-unit.js'
import { CLAIM_FUNCTION } from './claim.js'
import { CLAIM_WITH_DATA_FUNCTION } from './claim-with-data.js'
import { CLAIM_FOR_WORKERS_FUNCTION } from './claim-for-workers.js'
import { CHAINED_OUTPUTS_FUNCTION, COMPLETE_FUNCTION } from './complete.js'
import { UNIT_COUNTS_FUNCTION } from './unit-counts.js'

/**
 * The stored functions the code calls, as CREATE OR REPLACE statements in install order. They
 * are not migrations: src/postgres/migrate.ts installs them after the migrations whenever
 * their text changed. A change to a function's parameters or result type needs a migration
 * that drops the old one first (Postgres cannot replace those in place).
 */
export const STORED_FUNCTIONS: readonly string[] = [
  SPEC_HAS_AVAILABLE_UNIT_FUNCTION,
  CLAIM_FUNCTION,
  CLAIM_WITH_DATA_FUNCTION,
  CLAIM_FOR_WORKERS_FUNCTION,
  COMPLETE_FUNCTION,
  CHAINED_OUTPUTS_FUNCTION,
  UNIT_COUNTS_FUNCTION,
]

/** The version of STORED_FUNCTIONS recorded in the schema: a hash of their text. */
export const STORED_FUNCTIONS_HASH = createHash('sha256').update(STORED_FUNCTIONS.join('\u0000')).digest('hex')
