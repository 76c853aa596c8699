#!/usr/bin/env node
import { run } from './program.js';

/**
 * How long the event loop may stay busy after a command has finished before the CLI exits
 * anyway. A command closes everything it opened, so this only fires on a leaked handle;
 * it then says so rather than hang a terminal or a CI job.
 */
const LINGER_MS = 3_000;

const code = await run(process.argv);
process.exitCode = code;
setTimeout(() => {
  process.stderr.write(`warning: open handles kept scoreq alive ${LINGER_MS} ms after the command finished; exiting\n`);
  process.exit(code);
}, LINGER_MS).unref();
