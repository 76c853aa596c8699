import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressRange, checkCallbackUrl, parseAllowlist, type Resolver } from '../src/index.js';

const refused = { code: 'CALLBACK_URL_REFUSED' };
/** A resolver that answers every host with these addresses: no network needed. */
const resolvesTo =
  (...addresses: string[]): Resolver =>
  () =>
    Promise.resolve(addresses);
const publicResolver = resolvesTo('93.184.216.34');

const PRIVATE_LITERALS: Array<[string, string]> = [
  ['http://10.0.0.1/hook', 'private'],
  ['http://10.255.255.254/hook', 'private'],
  ['http://172.16.0.1/hook', 'private'],
  ['http://172.31.255.1/hook', 'private'],
  ['http://192.168.1.10/hook', 'private'],
  ['http://127.0.0.1:8080/hook', 'loopback'],
  ['http://127.1.2.3/hook', 'loopback'],
  ['http://2130706433/hook', 'loopback'], // 127.0.0.1 as one number: the URL parser normalises it
  ['http://0.0.0.0/hook', 'unspecified'],
  ['http://169.254.169.254/latest/meta-data/', 'linkLocal'],
  ['http://100.100.100.200/', 'carrierGradeNat'], // Alibaba Cloud metadata
  ['http://[::1]/hook', 'loopback'],
  ['http://[fc00::1]/hook', 'uniqueLocal'],
  ['http://[fd00:ec2::254]/', 'uniqueLocal'], // AWS IPv6 metadata
  ['http://[fe80::1]/hook', 'linkLocal'],
  ['http://[::ffff:10.0.0.1]/hook', 'private'], // IPv4-mapped IPv6 is judged as the IPv4 it carries
  ['http://[::ffff:169.254.169.254]/hook', 'linkLocal'],
  ['http://[2002:a00:1::]/hook', '6to4'], // embeds 10.0.0.1
  ['http://[64:ff9b::a00:1]/hook', 'rfc6052'], // NAT64 of 10.0.0.1
];

for (const [url, range] of PRIVATE_LITERALS) {
  test(`a callback to ${url} is refused as ${range}`, async () => {
    await assert.rejects(checkCallbackUrl(url, [], publicResolver), (err: Error & { code?: string; details?: { reason?: string } }) => {
      assert.equal(err.code, 'CALLBACK_URL_REFUSED');
      assert.match(err.message, new RegExp(`a ${range} address`));
      return true;
    });
  });
}

test('the range of public addresses is unicast', () => {
  assert.equal(addressRange('93.184.216.34'), 'unicast');
  assert.equal(addressRange('2606:4700:4700::1111'), 'unicast');
  assert.equal(addressRange('not an address'), 'invalid');
});

test('callbacks to public IP literals pass', async () => {
  assert.equal((await checkCallbackUrl('https://93.184.216.34/hook', [], publicResolver)).hostname, '93.184.216.34');
  assert.equal((await checkCallbackUrl('https://[2606:4700:4700::1111]:8443/hook', [], publicResolver)).port, '8443');
});

for (const host of [
  'metadata.google.internal',
  'METADATA.google.internal.',
  'metadata',
  'metadata.goog',
  'instance-data',
  'instance-data.ec2.internal',
  'app.localhost',
]) {
  test(`the metadata or local host name ${host} is refused without a DNS lookup`, async () => {
    let looked = false;
    const resolver: Resolver = () => ((looked = true), Promise.resolve(['93.184.216.34']));
    await assert.rejects(checkCallbackUrl(`http://${host}/computeMetadata/v1/`, [], resolver), refused);
    assert.equal(looked, false);
  });
}

for (const url of ['ftp://hooks.example.com/x', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://hooks.example.com/', 'not a url']) {
  test(`the callback URL ${url} is refused: only http and https`, async () => {
    await assert.rejects(checkCallbackUrl(url, [], publicResolver), refused);
  });
}

test('a host name that resolves to a private address is refused, naming the address', async () => {
  await assert.rejects(checkCallbackUrl('https://hooks.example.com/x', [], resolvesTo('93.184.216.34', '10.1.2.3')), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'CALLBACK_URL_REFUSED');
    assert.match(err.message, /hooks\.example\.com resolves to 10\.1\.2\.3 is a private address/);
    return true;
  });
});

test('a host name that resolves to public addresses only passes', async () => {
  assert.equal((await checkCallbackUrl('https://hooks.example.com/x', [], resolvesTo('93.184.216.34', '2606:4700:4700::1111'))).hostname, 'hooks.example.com');
});

test('a host name that does not resolve is refused', async () => {
  const failing: Resolver = () => Promise.reject(Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }));
  await assert.rejects(checkCallbackUrl('https://nowhere.example/x', [], failing), /does not resolve \(ENOTFOUND\)/);
  await assert.rejects(checkCallbackUrl('https://nowhere.example/x', [], resolvesTo()), refused);
});

test('with the system resolver, localhost resolves to loopback and is refused unless allowlisted', async () => {
  // /etc/hosts names it; no network is needed.
  await assert.rejects(checkCallbackUrl('http://localhost:9/x'), /localhost resolves to .* loopback address/);
  assert.ok(await checkCallbackUrl('http://localhost:9/x', ['127.0.0.1', '::1']));
});

test('an allowlisted address or network lets a private callback through', async () => {
  assert.ok(await checkCallbackUrl('http://127.0.0.1:8080/hook', ['127.0.0.1']));
  assert.ok(await checkCallbackUrl('http://10.20.30.40/hook', '10.0.0.0/8, 192.168.0.0/16'));
  assert.ok(await checkCallbackUrl('http://[fd12::1]/hook', ['fd00::/8']));
  assert.ok(await checkCallbackUrl('http://[::ffff:127.0.0.1]/hook', ['127.0.0.1']));
  assert.ok(await checkCallbackUrl('https://hooks.internal.example/x', ['10.0.0.0/8'], resolvesTo('10.9.9.9')));
  await assert.rejects(checkCallbackUrl('http://127.0.0.2/hook', ['127.0.0.1']), refused);
  await assert.rejects(checkCallbackUrl('http://11.0.0.1.nip/hook', ['10.0.0.0/8'], resolvesTo('172.16.0.1')), refused);
});

test('an allowlisted host name is trusted whatever it resolves to', async () => {
  const allow = parseAllowlist('hooks.corp, *.svc.cluster.local');
  assert.ok(await checkCallbackUrl('http://hooks.corp/x', allow, resolvesTo('10.0.0.5')));
  assert.ok(await checkCallbackUrl('http://api.ns.svc.cluster.local/x', allow, resolvesTo('10.0.0.6')));
  await assert.rejects(checkCallbackUrl('http://other.corp/x', allow, resolvesTo('10.0.0.7')), refused);
  assert.ok(await checkCallbackUrl('http://metadata.google.internal/x', ['metadata.google.internal'], publicResolver), 'an explicit entry wins');
});

test('allowlist entries that are neither hosts, addresses nor CIDRs are refused by name', () => {
  assert.throws(
    () => parseAllowlist('10.0.0.0/8, http://x'),
    (err: Error & { code?: string }) => {
      assert.equal(err.code, 'INVALID_OPTION');
      assert.match(err.message, /"http:\/\/x"/);
      return true;
    },
  );
  assert.throws(() => parseAllowlist(['10.0.0.0/33']), { code: 'INVALID_OPTION' });
  assert.deepEqual(parseAllowlist(' , ').entries, []);
});
