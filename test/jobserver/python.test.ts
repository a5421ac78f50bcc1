import { registerPythonCases } from './python-cases.js'
import { startHarness } from './harness.js'

// go-coordinate's python_test cases over the Postgres backend directly.
registerPythonCases(await startHarness())
