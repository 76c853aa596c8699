// Runs every compiled test file (libs/*, apps/* and test/) with node's test runner.
// Files run two at a time: the integration tests start worker processes and thread pools,
// and this keeps a 2-core machine from thrashing.
import { spawnSync } from 'node:child_process';
import { readdirSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const roots = ['libs', 'apps'].flatMap((top) => readdirSync(top).map((name) => join(top, name, 'dist', 'test'))).concat([join('test', 'dist')]);

function collect(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return collect(path);
    return entry.name.endsWith('.test.js') ? [path] : [];
  });
}

const filter = process.argv[2];
const files = roots
  .flatMap(collect)
  .filter((f) => !filter || f.includes(filter))
  .sort();
if (files.length === 0) {
  console.error(`no test files found${filter ? ` matching ${filter}` : ''}; did the build run?`);
  process.exit(1);
}
const concurrency = process.env.TEST_CONCURRENCY ?? '2';
const result = spawnSync(process.execPath, ['--test', `--test-concurrency=${concurrency}`, ...files], { stdio: 'inherit' });
process.exit(result.status ?? 1);
