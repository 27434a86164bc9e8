#!/usr/bin/env node
// Thin launcher: the CLI is compiled to dist/ by `npm install` (the prepare script).
import { main } from '../dist/memplan.mjs';

const code = await main({ argv: process.argv.slice(2), stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
