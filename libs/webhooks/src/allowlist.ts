import ipaddr from 'ipaddr.js';
import { ScoreqError } from '@scoreq/contracts';

type Address = ipaddr.IPv4 | ipaddr.IPv6;

/**
 * Hosts and networks that webhook callbacks may reach although the SSRF guard would refuse
 * them (a receiver on a private network, or 127.0.0.1 in tests). Built once with
 * {@link parseAllowlist}; immutable.
 */
export interface Allowlist {
  /** The entries as given, normalised (lower case, no brackets). */
  readonly entries: readonly string[];
  /** True when `hostname` is named by an entry: `hooks.internal`, or `*.internal` for its subdomains. */
  permitsHost(hostname: string): boolean;
  /** True when `address` (an IP literal) lies in an entry's address or CIDR. */
  permitsAddress(address: string): boolean;
}

const HOST_NAME = /^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$/;

/** `[::1]` → `::1`, `Hooks.Example.` → `hooks.example`. */
export function normaliseHost(host: string): string {
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  return bare.toLowerCase().replace(/\.$/, '');
}

/** Parses an IP literal, IPv4-mapped IPv6 (`::ffff:10.0.0.1`) turned into the IPv4 it carries. */
export function parseAddress(address: string): Address | undefined {
  const bare = normaliseHost(address);
  return ipaddr.isValid(bare) ? ipaddr.process(bare) : undefined;
}

/**
 * Reads allowlist entries (`SCOREQ_WEBHOOK_ALLOW`, a comma list, or an array): IP addresses,
 * CIDRs (`10.1.0.0/16`, `fd00::/8`) and host names (`hooks.internal`, `*.internal`).
 *
 * @throws ScoreqError `INVALID_OPTION` naming the first entry that is none of these.
 */
export function parseAllowlist(entries: string | readonly string[] = []): Allowlist {
  const list = (typeof entries === 'string' ? entries.split(',') : entries).map((e) => normaliseHost(e.trim())).filter((e) => e !== '');
  const networks: Array<[Address, number]> = [];
  const hosts = new Set<string>();
  const suffixes: string[] = [];
  for (const entry of list) {
    if (ipaddr.isValidCIDR(entry)) {
      networks.push(ipaddr.parseCIDR(entry));
    } else if (ipaddr.isValid(entry)) {
      const address = ipaddr.process(entry);
      networks.push([address, address.kind() === 'ipv4' ? 32 : 128]);
    } else if (HOST_NAME.test(entry)) {
      if (entry.startsWith('*.')) suffixes.push(entry.slice(1));
      else hosts.add(entry);
    } else {
      throw new ScoreqError('INVALID_OPTION', `webhook allowlist entry ${JSON.stringify(entry)} is neither a host name, an IP address nor a CIDR`, {
        option: 'allow',
        entry,
      });
    }
  }
  return Object.freeze({
    entries: Object.freeze(list),
    permitsHost(hostname: string): boolean {
      const host = normaliseHost(hostname);
      return hosts.has(host) || suffixes.some((s) => host.endsWith(s));
    },
    permitsAddress(address: string): boolean {
      const parsed = parseAddress(address);
      if (!parsed) return false;
      // ipaddr's match throws across families, so compare only like with like.
      return networks.some(([net, bits]) => net.kind() === parsed.kind() && parsed.match(net, bits));
    },
  });
}
