import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { ScoreqError } from '@scoreq/contracts';
import { normaliseHost, parseAddress, parseAllowlist, type Allowlist } from './allowlist.js';

/**
 * Names that reach a cloud provider's instance metadata service (credentials live there),
 * refused before any DNS lookup, as is every `*.localhost`. Their addresses
 * (169.254.169.254, fd00:ec2::254, 100.100.100.200…) are refused again by range after one,
 * which is also what refuses `localhost` itself (it resolves to loopback).
 */
const BLOCKED_HOSTS: ReadonlySet<string> = new Set([
  'metadata',
  'metadata.google.internal',
  'metadata.goog',
  'metadata.azure.internal',
  'instance-data',
  'instance-data.ec2.internal',
]);

/**
 * The ipaddr.js range of an IP literal: `unicast` for a public address, otherwise the
 * reserved range it is in (`private`, `loopback`, `linkLocal`, `uniqueLocal`,
 * `carrierGradeNat`, `unspecified`, `6to4`, `rfc6052`…); `invalid` when it is not an address.
 */
export function addressRange(address: string): string {
  return parseAddress(address)?.range() ?? 'invalid';
}

/**
 * Why `address` may not be called back, or undefined when it may: only globally routable
 * unicast addresses pass, unless the allowlist names the address or its network. Every
 * special range is refused, including those that embed an IPv4 address (6to4, NAT64,
 * Teredo), since the embedded one could be private.
 */
export function addressRefusal(address: string, allow: Allowlist): string | undefined {
  const range = addressRange(address);
  if (range === 'unicast' || allow.permitsAddress(address)) return undefined;
  return `${address} is a ${range} address`;
}

function refused(url: string, reason: string, details: Record<string, unknown> = {}): ScoreqError {
  return new ScoreqError('CALLBACK_URL_REFUSED', `callback URL ${url} is refused: ${reason}`, { field: 'callbackUrl', reason, ...details });
}

/** A callback URL that passed the checks that need no DNS, and what is left to check. */
export interface ScreenedUrl {
  url: URL;
  /** The host, lower case, without brackets or a trailing dot. */
  host: string;
  /** True when the allowlist names the host: no address checks at all. */
  trusted: boolean;
  /** True when the host is an IP literal (already checked; nothing is looked up). */
  literal: boolean;
}

/** `https://hooks.example.com:8443`: what logs and errors show of a callback URL (never its path or query, which may hold a token). */
export function urlOrigin(url: string | URL): string {
  try {
    return (typeof url === 'string' ? new URL(url) : url).origin;
  } catch {
    return '(invalid URL)';
  }
}

/**
 * The checks that need no DNS: an http(s) URL, a host that is not a metadata or localhost
 * name, and an IP literal that is not in a refused range, unless the allowlist permits it.
 *
 * @throws ScoreqError `CALLBACK_URL_REFUSED` saying why.
 */
export function screenCallbackUrl(raw: string, allow: Allowlist): ScreenedUrl {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw refused('(invalid URL)', 'it is not a valid URL');
  }
  const shown = urlOrigin(url);
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refused(shown, `only http and https are allowed, not ${url.protocol.slice(0, -1)}`);
  const host = normaliseHost(url.hostname);
  if (allow.permitsHost(host)) return { url, host, trusted: true, literal: isIP(host) !== 0 };
  if (isIP(host) !== 0) {
    const reason = addressRefusal(host, allow);
    if (reason) throw refused(shown, reason, { address: host });
    return { url, host, trusted: false, literal: true };
  }
  if (BLOCKED_HOSTS.has(host) || host.endsWith('.localhost')) throw refused(shown, `${host} is a metadata or local host name`);
  return { url, host, trusted: false, literal: false };
}

/** Resolves a host name to every address it has. */
export type Resolver = (host: string) => Promise<string[]>;

const systemResolver: Resolver = (host) =>
  new Promise((resolve, reject) => dnsLookup(host, { all: true }, (err, addresses) => (err ? reject(err) : resolve(addresses.map((a) => a.address)))));

/**
 * Checks a callback URL before a job that carries it is accepted (the SDK and the API call
 * this at submit time): http or https only; the host, and every address it resolves to now,
 * must be public, unless `allow` (`SCOREQ_WEBHOOK_ALLOW` entries or a parsed
 * {@link Allowlist}) names the host, the address or its network. The delivery worker checks
 * again at each attempt, since DNS can change between submit and delivery.
 *
 * @returns the parsed URL.
 * @throws ScoreqError `CALLBACK_URL_REFUSED` saying why (the host does not resolve, or an
 *   address is private, loopback, link-local, unique-local, metadata…).
 */
export async function checkCallbackUrl(url: string, allow: Allowlist | string | readonly string[] = [], resolve: Resolver = systemResolver): Promise<URL> {
  const allowlist = isAllowlist(allow) ? allow : parseAllowlist(allow);
  const screened = screenCallbackUrl(url, allowlist);
  if (screened.trusted || screened.literal) return screened.url;
  let addresses: string[];
  try {
    addresses = await resolve(screened.host);
  } catch (err) {
    throw refused(urlOrigin(screened.url), `${screened.host} does not resolve (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
  }
  if (addresses.length === 0) throw refused(urlOrigin(screened.url), `${screened.host} does not resolve`);
  for (const address of addresses) {
    const reason = addressRefusal(address, allowlist);
    if (reason) throw refused(urlOrigin(screened.url), `${screened.host} resolves to ${reason}`, { address });
  }
  return screened.url;
}

function isAllowlist(value: Allowlist | string | readonly string[]): value is Allowlist {
  return typeof value === 'object' && 'permitsAddress' in value;
}

/**
 * A `lookup` for `http.request` that resolves the host itself and fails the connection with
 * `CALLBACK_URL_REFUSED` when any address is refused, so the address checked is the address
 * connected to (no window for DNS rebinding between a check and the connect). Handles both
 * of Node's call shapes: one address, or `all` for happy-eyeballs connects.
 */
export function guardedLookup(allow: Allowlist, shownUrl: string): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      const blocked = addresses.map((a) => ({ a, reason: addressRefusal(a.address, allow) })).find((x) => x.reason !== undefined);
      if (blocked) return callback(refused(shownUrl, `${hostname} resolves to ${blocked.reason}`, { address: blocked.a.address }), '', 0);
      const first = addresses[0];
      if (!first) return callback(refused(shownUrl, `${hostname} does not resolve`), '', 0);
      if (options.all) return callback(null, addresses);
      return callback(null, first.address, first.family);
    });
  };
}
