/** Shared helpers of the registry unit tests. Not a test file. */
import assert from 'node:assert/strict';
import type { ErrorCode } from '@scoreq/contracts';

/**
 * A matcher for `assert.rejects` / `assert.throws`: the error carries `code` (and `details.field`
 * when given) and, when given, a message matching `pattern`. Branches on `code`, not the class.
 */
export function hasCode(code: ErrorCode, field?: string, pattern?: RegExp): (err: unknown) => true {
  return (err) => {
    const { code: actual, details, message } = err as { code?: unknown; details?: { field?: unknown }; message?: unknown };
    assert.equal(actual, code, `error code (message: ${String(message)})`);
    if (field !== undefined) assert.equal(details?.field, field, `error field (message: ${String(message)})`);
    if (pattern !== undefined) assert.match(String(message), pattern);
    return true;
  };
}
