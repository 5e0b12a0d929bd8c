/** Rate limits per client IP on login pages (HTML), OAuth token endpoints and the discovery search API (JSON), with Retry-After. */
import t from 'tap';
import { rateLimitKey } from '../../src/http/rate-limit.js';
import { startFedgate } from '../helpers/fedgate.js';

const limits = { login: { max: 3, windowSeconds: 60 }, token: { max: 2, windowSeconds: 30 }, search: { max: 4, windowSeconds: 60 } };

t.test('login pages: 429 with Retry-After and a page after max requests, per client IP', async (t) => {
  const fedgate = await startFedgate({ server: { trustProxy: ['127.0.0.1'] }, operations: { rateLimits: limits } });
  t.teardown(() => fedgate.close());
  const sso = (ip: string) => fetch(`${fedgate.url}/saml/idp/sso`, { headers: { 'x-forwarded-for': ip } });
  for (let i = 0; i < 3; i++) {
    const res = await sso('198.51.100.1');
    t.equal(res.status, 400, `request ${i + 1} reaches the endpoint (no SAMLRequest)`);
    await res.text();
  }
  const limited = await sso('198.51.100.1');
  t.equal(limited.status, 429);
  t.match(limited.headers.get('retry-after'), /^[1-9]\d*$/, 'Retry-After in seconds');
  t.match(limited.headers.get('content-type'), /^text\/html/);
  t.match(await limited.text(), /Too many login attempts/);
  const other = await sso('198.51.100.2');
  t.equal(other.status, 400, 'another client IP has its own budget');
  await other.text();
  const health = await fetch(`${fedgate.url}/healthz`, { headers: { 'x-forwarded-for': '198.51.100.1' } });
  t.equal(health.status, 200, 'other endpoints are not limited');
  await health.text();
  const metrics = await (await fetch(`${fedgate.url}/metrics`)).text();
  t.match(metrics, /fedgate_rate_limited_total\{limit="login"\} 1/);
  t.notMatch(metrics, /code="too_many_requests"/, 'a refused request is not counted as a login');
});

t.test('token endpoint of the OIDC provider: 429 with an OAuth JSON error, before the provider answers', async (t) => {
  const fedgate = await startFedgate({ frontends: { oidc: { enabled: true } }, operations: { rateLimits: limits } });
  t.teardown(() => fedgate.close());
  const token = () =>
    fetch(`${fedgate.url}/oidc/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'grant_type=authorization_code&code=x',
    });
  for (let i = 0; i < 2; i++) {
    const res = await token();
    t.not(res.status, 429, `request ${i + 1} reaches the provider`);
    await res.text();
  }
  const limited = await token();
  t.equal(limited.status, 429);
  t.match(limited.headers.get('retry-after'), /^[1-9]\d*$/);
  t.match(limited.headers.get('content-type'), /^application\/json/);
  t.match(await limited.json(), { error: 'invalid_request', error_description: /too many requests/ });
  const encoded = await fetch(`${fedgate.url}/oidc/%74oken`, { method: 'POST' });
  t.equal(encoded.status, 429, 'a percent-encoded path counts against the same limit');
  await encoded.text();
  const discovery = await fetch(`${fedgate.url}/oidc/.well-known/openid-configuration`);
  t.equal(discovery.status, 200, 'provider discovery is not limited');
  await discovery.text();
});

t.test('the discovery search API: 429 with a JSON error after max searches, its own budget', async (t) => {
  const fedgate = await startFedgate({ server: { trustProxy: ['127.0.0.1'] }, operations: { rateLimits: limits } });
  t.teardown(() => fedgate.close());
  const search = (ip: string) => fetch(`${fedgate.url}/discovery/search?q=demo`, { headers: { 'x-forwarded-for': ip } });
  for (let i = 0; i < 4; i++) {
    const res = await search('198.51.100.7');
    t.equal(res.status, 200, `search ${i + 1} is answered`);
    await res.text();
  }
  const limited = await search('198.51.100.7');
  t.equal(limited.status, 429);
  t.match(limited.headers.get('retry-after'), /^[1-9]\d*$/);
  t.match(limited.headers.get('content-type'), /^application\/json/, 'JSON, as the page’s script reads it');
  t.match(await limited.json(), { error: 'invalid_request', error_description: /too many requests/ });
  const sso = await fetch(`${fedgate.url}/saml/idp/sso`, { headers: { 'x-forwarded-for': '198.51.100.7' } });
  t.equal(sso.status, 400, 'searching does not use up the login budget');
  await sso.text();
  const metrics = await (await fetch(`${fedgate.url}/metrics`)).text();
  t.match(metrics, /fedgate_rate_limited_total\{limit="search"\} 1/);
});

t.test('one budget per IPv4 address, however it is written, and per IPv6 /64', async (t) => {
  t.equal(rateLimitKey('198.51.100.7'), '198.51.100.7');
  t.equal(rateLimitKey('::ffff:198.51.100.7'), '198.51.100.7', 'IPv4-mapped IPv6 folds to IPv4');
  t.equal(rateLimitKey('::FFFF:198.51.100.7'), '198.51.100.7');
  t.equal(rateLimitKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  t.equal(rateLimitKey('2001:0db8:0001:0002:ffff:0:0:9'), '2001:db8:1:2::/64', 'leading zeros do not make another budget');
  t.equal(rateLimitKey('2001:db8:1:3::1'), '2001:db8:1:3::/64', 'another /64 is another budget');
  t.equal(rateLimitKey('::1'), '0:0:0:0::/64');
  t.equal(rateLimitKey('fe80::1%eth0'), 'fe80:0:0:0::/64', 'zone id dropped');
  t.equal(rateLimitKey('64:ff9b::198.51.100.7'), '64:ff9b:0:0::/64', 'an embedded IPv4 tail is not the client');

  const fedgate = await startFedgate({ server: { trustProxy: ['127.0.0.1'] }, operations: { rateLimits: limits } });
  t.teardown(() => fedgate.close());
  const sso = (ip: string) => fetch(`${fedgate.url}/saml/idp/sso`, { headers: { 'x-forwarded-for': ip } });
  const statuses: number[] = [];
  for (const ip of ['203.0.113.9', '::ffff:203.0.113.9', '203.0.113.9', '::ffff:203.0.113.9']) {
    const res = await sso(ip);
    statuses.push(res.status);
    await res.text();
  }
  t.same(statuses, [400, 400, 400, 429], 'the mapped form spends the same budget');
  const v6: number[] = [];
  for (const ip of ['2001:db8:5:6::1', '2001:db8:5:6::2', '2001:db8:5:6::3', '2001:db8:5:6::4', '2001:db8:5:7::1']) {
    const res = await sso(ip);
    v6.push(res.status);
    await res.text();
  }
  t.same(v6, [400, 400, 400, 429, 400], 'addresses of one /64 share a budget, another /64 has its own');
});
