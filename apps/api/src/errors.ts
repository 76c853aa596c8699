import { ERROR_CODES, isErrorCode, ScoreqError, type ErrorCode } from '@scoreq/contracts';

/** Every code an HTTP error body may carry: the one catalogue in libs/contracts. */
export type ApiErrorCode = ErrorCode;

export const isApiErrorCode = isErrorCode;

/** HTTP status of a code, from the catalogue. */
export function statusOf(code: ApiErrorCode): number {
  return ERROR_CODES[code].status;
}

/** The one factory of HTTP errors: ScoreqErrors, handled by the error handler by `code`. */
export function apiError(code: ApiErrorCode, message: string, details?: Record<string, unknown>): ScoreqError {
  return new ScoreqError(code, message, details);
}
