import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP, type LookupFunction } from 'node:net';
import { isLoopbackName } from '../common/webhooks';

/**
 * What a webhook may connect to: public unicast addresses only. Loopback, private (RFC 1918, unique local),
 * link-local (cloud metadata at 169.254.169.254), carrier-grade NAT, multicast, documentation, benchmarking,
 * reserved and unspecified addresses are refused, IPv4-mapped IPv6 ones by their IPv4 address. The one exception:
 * a URL whose host is literally `localhost`, `127.0.0.1` or `[::1]` (allowlisted: only then could it be created)
 * may reach loopback addresses, which is how tests and a receiver on the same machine are reached.
 */
const nonPublic = new BlockList();
for (const [net, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv4');
}
for (const [net, prefix] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  nonPublic.addSubnet(net, prefix, 'ipv6');
}
const loopback = new BlockList();
loopback.addSubnet('127.0.0.0', 8, 'ipv4');
loopback.addAddress('::1', 'ipv6');

/** `::ffff:10.0.0.1` → `10.0.0.1`; anything else as it is. */
function unmapped(address: string): { address: string; family: 'ipv4' | 'ipv6' } {
  const mapped = /^::ffff:([0-9.]+)$/i.exec(address);
  if (mapped) return { address: mapped[1]!, family: 'ipv4' };
  return { address, family: isIP(address) === 6 ? 'ipv6' : 'ipv4' };
}

/** Why `address` may not be reached for a URL of host `host`, or undefined when it may. */
export function addressProblem(host: string, address: string): string | undefined {
  const a = unmapped(address);
  if (isLoopbackName(host) && loopback.check(a.address, a.family)) return undefined;
  if (nonPublic.check(a.address, a.family)) {
    return `${host} resolves to ${address}, which is not a public address`;
  }
  return undefined;
}

/** The error of an attempt refused by the guard: recorded as the attempt's error, no request sent. */
export class AddressRefusedError extends Error {
  override name = 'AddressRefusedError';
  readonly code = 'EADDRREFUSED_BY_POLICY';
}

/**
 * A `lookup` for `http.request`: resolves as Node does, then refuses the connection when any address it would use
 * is not allowed, so the address checked is the address connected to (no second resolution a DNS rebinding could
 * answer differently).
 */
export function guardedLookup(host: string): LookupFunction {
  return (hostname, options, callback) => {
    dnsLookup(hostname, { ...options, all: true }, (err, addresses: LookupAddress[]) => {
      if (err) return callback(err, '', 0);
      for (const { address } of addresses) {
        const problem = addressProblem(host, address);
        if (problem) return callback(new AddressRefusedError(problem), '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0]!;
      callback(null, first.address, first.family);
    });
  };
}
