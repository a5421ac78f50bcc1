import { registerPythonCases } from './python-cases.js'
import { startHarness } from './harness.js'

// The same cases through the name-identity cache, which is what coordinated serves.
registerPythonCases(await startHarness({ throughCache: true }))
