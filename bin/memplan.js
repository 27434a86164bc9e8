#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import { setFlagsFromString } from 'node:v8';

// A CLI run is over in about a second, before Turbofan's inlined code pays for its compiles: the
// search's hot functions (tracer, liveness simulation, allocator) deoptimise and recompile several
// times while the run warms up, and with inlining each compile is large. Without it a recommend on the
// AAM configs takes about a third less CPU (docs/recommend.md, "How it is fast"); set before the
// bundle loads, for this process only (the library keeps V8's defaults). The flag has been in V8 since
// Node 4; MEMPLAN_V8_DEFAULTS=1 keeps the defaults.
if (!process.env.MEMPLAN_V8_DEFAULTS) setFlagsFromString('--no-turbo-inlining');

const { main } = await import('../dist/memplan.mjs');
const code = await main({ argv: process.argv.slice(2), stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
