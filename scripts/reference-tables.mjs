// Prints the README's configuration and error tables from the code that defines them
// (libs/contracts), so the manual cannot drift: `node scripts/reference-tables.mjs`.
import { ENV_SCHEMA, ERROR_CODES } from '../libs/contracts/dist/src/index.js';

const rows = Object.entries(ENV_SCHEMA).map(([name, schema]) => {
  const parsed = schema.safeParse(undefined);
  const fallback = parsed.success ? JSON.stringify(parsed.data) : '—';
  return `| \`${name}\` | ${fallback === undefined ? '—' : `\`${fallback}\``} | ${schema.description ?? ''} |`;
});
console.log('| variable | default | meaning |\n|---|---|---|\n' + rows.join('\n'));
console.log();
const errors = Object.entries(ERROR_CODES).map(([code, e]) => `| \`${code}\` | ${e.status} | ${e.retryable ? 'yes' : 'no'} | ${e.description} |`);
console.log('| code | HTTP | retried | meaning |\n|---|---|---|---|\n' + errors.join('\n'));
