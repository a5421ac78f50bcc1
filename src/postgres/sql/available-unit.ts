import { PINNED } from './pinned-plan.js'

/**
 * Whether a spec has a unit to hand out now: one probe of the claim index. As a plain EXISTS
 * the planner may scan the whole table when statistics say most units are available.
 */
export const SPEC_HAS_AVAILABLE_UNIT_FUNCTION = `
    CREATE OR REPLACE FUNCTION spec_has_available_unit(p_spec bigint, p_now timestamptz) RETURNS boolean
    LANGUAGE plpgsql STABLE ${PINNED}
    AS $$
    BEGIN
      RETURN EXISTS (SELECT 1 FROM work_unit WHERE work_spec_id = p_spec AND active_attempt_id IS NULL
                     AND state = 'available' AND (not_before IS NULL OR not_before <= p_now));
    END
    $$
  `
