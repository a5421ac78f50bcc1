/**
 * How much the property tests run. The suite runs a fixed seed and few runs, so a failure
 * reproduces and the files stay well under 30 s; `npm run fuzz` sets FUZZ_RUNS (and
 * FUZZ_SEED=random unless a seed is given) for a longer search. A failure prints the seed and path to
 * replay it: FUZZ_SEED=<seed> FUZZ_PATH=<path>.
 */
export interface FuzzSettings {
  seed: number
  numRuns: number
  path?: string
}

/** The fast-check parameters for this run, from FUZZ_SEED, FUZZ_RUNS and FUZZ_PATH. */
export function fuzzSettings(defaultRuns: number): FuzzSettings {
  const given = process.env.FUZZ_SEED ?? '19'
  const seed = given === 'random' ? Math.floor(Math.random() * 2 ** 31) : Number(given)
  if (given === 'random') console.log(`FUZZ_SEED=${seed}`)
  const numRuns = Number(process.env.FUZZ_RUNS ?? defaultRuns)
  const path = process.env.FUZZ_PATH
  return path === undefined ? { seed, numRuns } : { seed, numRuns, path }
}

/** A per-test timeout that grows with the number of runs, so `npm run fuzz` is not cut short. */
export function fuzzTimeoutMs(settings: FuzzSettings, msPerRun: number): number {
  return Math.max(30_000, settings.numRuns * msPerRun)
}
