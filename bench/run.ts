import { benchBulkAdd } from './bulk-add.js'
import { benchCache } from './cache.js'
import { benchClaimLoop } from './claim-loop.js'
import { benchCliLoad } from './cli-load.js'
import { benchDashboard } from './dashboard.js'
import { benchHeapGrowth } from './heap-growth.js'
import { benchHttp } from './http.js'
import { benchJobserver } from './jobserver.js'
import { benchPickupTrace } from './pickup-trace.js'
import { benchScale } from './scale.js'
import { benchStartup } from './startup.js'
import { describeMachine } from './support.js'
import { benchWorker } from './worker.js'

// `npm run bench [name…]` runs the named benchmarks (all by default).
const benches: Record<string, () => Promise<void>> = {
  'bulk-add': benchBulkAdd,
  scale: benchScale,
  claim: benchClaimLoop,
  cache: benchCache,
  jobserver: benchJobserver,
  http: benchHttp,
  worker: benchWorker,
  'pickup-trace': benchPickupTrace,
  'cli-load': benchCliLoad,
  startup: benchStartup,
  dashboard: benchDashboard,
  'heap-growth': benchHeapGrowth,
}

const chosen = process.argv.slice(2)
await describeMachine()
for (const [name, bench] of Object.entries(benches)) {
  if (chosen.length > 0 && !chosen.includes(name)) continue
  console.log(`\n# ${name}`)
  await bench()
}
// Exit once the figures are out: a peer library's leftover handle kept a finished worker run
// alive (and the shared benchmark lock held) for minutes.
process.exit(0)
