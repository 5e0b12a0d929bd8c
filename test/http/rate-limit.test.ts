/** Rate limits per client IP on login pages (HTML) and OAuth token endpoints (JSON), with Retry-After. */
import t from 'tap';
import { startFedgate } from '../helpers/fedgate.js';

const limits = { login: { max: 3, windowSeconds: 60 }, token: { max: 2, windowSeconds: 30 } };

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
