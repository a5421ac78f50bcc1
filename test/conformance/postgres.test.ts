import { openTestCoordinate } from '../support/open-test-coordinate.js'
import { runConformanceSuite } from './suite.js'

// Opened while the file is collected, so that openTestCoordinate's afterAll (close the pool,
// drop the file's database) is registered for this file; the suite's beforeAll just takes it.
const target = await openTestCoordinate()

runConformanceSuite('postgres', async () => target)
