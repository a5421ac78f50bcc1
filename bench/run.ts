import { benchBulkAdd } from './bulk-add.js'
import { benchCache } from './cache.js'
import { benchClaimLoop } from './claim-loop.js'
import { benchCliLoad } from './cli-load.js'
import { benchJobserver } from './jobserver.js'
import { benchScale } from './scale.js'
import { describeMachine } from './support.js'

// `npm run bench [name…]` runs the named benchmarks (all by default).
const benches: Record<string, () => Promise<void>> = {
  'bulk-add': benchBulkAdd,
  scale: benchScale,
  claim: benchClaimLoop,
  cache: benchCache,
  jobserver: benchJobserver,
  'cli-load': benchCliLoad,
}

const chosen = process.argv.slice(2)
await describeMachine()
for (const [name, bench] of Object.entries(benches)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue
  console.log(`\n# ${name}`)
  await bench()
}
