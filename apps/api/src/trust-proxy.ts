import ipaddr from 'ipaddr.js';
import { ScoreqError } from '@scoreq/contracts';

/**
 * Fastify's `trustProxy`: off, or the addresses and CIDRs of the proxies in front of the API.
 * Never `true`: that takes X-Forwarded-For from any client, so a client could name any
 * address and escape its per-address limits.
 */
export type TrustProxy = false | readonly string[];

const VARIABLE = 'SCOREQ_TRUST_PROXY';
/** Ranges @fastify/proxy-addr knows by name. */
const NAMED_RANGES = new Set(['loopback', 'linklocal', 'uniquelocal']);
const EXAMPLE = "name the proxies' addresses or CIDRs, e.g. 10.0.0.5,10.1.0.0/16 (or loopback, linklocal, uniquelocal)";

/**
 * SCOREQ_TRUST_PROXY as Fastify takes it: empty is off, else a comma list of proxy addresses,
 * CIDRs and the named ranges loopback, linklocal and uniquelocal.
 *
 * @throws ScoreqError CONFIG_INVALID naming the variable: an entry that is not an address, CIDR
 * or named range; one that trusts every client (`true`, `*`, `0.0.0.0/0`, `::/0`); a hop count.
 */
export function parseTrustProxy(value: string): TrustProxy {
  const entries = value
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry !== '');
  if (entries.length === 0) return false;
  for (const entry of entries) {
    const problem = entryProblem(entry);
    if (problem !== undefined) {
      throw new ScoreqError('CONFIG_INVALID', `invalid configuration:\n  ${VARIABLE}=${JSON.stringify(value)}: ${problem}`, { variables: [VARIABLE] });
    }
  }
  return Object.freeze(entries);
}

/** Why `entry` cannot be trusted as a proxy; undefined when it can. */
function entryProblem(entry: string): string | undefined {
  if (NAMED_RANGES.has(entry)) return undefined;
  if (/^(true|\*|all|any)$/i.test(entry)) return `"${entry}" would take X-Forwarded-For from any client, so a client could pose as any address; ${EXAMPLE}`;
  if (/^\d+$/.test(entry)) {
    // Fastify takes a hop count but then trusts no proxy: it cannot tell a proxy from a client
    // that connects directly and sends the header itself.
    return `"${entry}" is a hop count, which cannot tell a proxy from a client that connects directly and sends X-Forwarded-For; ${EXAMPLE}`;
  }
  const [address = '', bits, ...rest] = entry.split('/');
  const isAddress = ipaddr.IPv4.isValidFourPartDecimal(address) || ipaddr.IPv6.isValid(address);
  if (!isAddress || rest.length > 0 || (bits !== undefined && !(/^\d+$/.test(bits) && ipaddr.isValidCIDR(entry)))) {
    return `"${entry}" is not an IP address or CIDR; ${EXAMPLE}`;
  }
  if (bits !== undefined && Number(bits) === 0) return `"${entry}" takes every address for a proxy, so a client could pose as any address; ${EXAMPLE}`;
  return undefined;
}
