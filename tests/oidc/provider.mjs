// A real OpenID Connect provider for the portal's sign-on tests and for trying sign-on by hand.
//
// oidc-provider (a certified implementation) on 127.0.0.1, on the port given or a free one, with
// devInteractions on: its login form takes any password (the account id is what is typed as the
// login) and a consent form follows on the first sign-in.
//
// Configured by a JSON document, in the environment variable OIDC_PROVIDER_CONFIG or as the first
// argument (all keys optional):
//   { "port": 9000,
//     "clients": [{ "client_id", "client_secret", "redirect_uris": [...], "post_logout_redirect_uris": [...] }],
//     "accounts": { "alice": { "email": "alice@icb.example", "email_verified": true, "name": "Alice" } },
//     "jwks": { "keys": [ <private JWK>, ... ] },   // so tests can sign tokens with the provider's own key
//     "idTokenTtl": 3600 }
// Without a config it serves the portal's demo: client "portal-demo" with secret
// "portal-demo-secret", redirects to http://127.0.0.1:5000, two accounts of the demo ICB.
//
// It prints one line of JSON, {"issuer": "http://127.0.0.1:PORT"}, once it is listening.
import http from 'node:http';

import Provider from 'oidc-provider';

const DEMO = {
  port: 9000,
  clients: [{
    client_id: 'portal-demo',
    client_secret: 'portal-demo-secret',
    redirect_uris: ['http://127.0.0.1:5000/sign-in/callback', 'http://localhost:5000/sign-in/callback'],
    post_logout_redirect_uris: ['http://127.0.0.1:5000/signed-out', 'http://localhost:5000/signed-out'],
  }],
  accounts: {
    commissioner: { email: 'commissioner@icb.northshire.example', email_verified: true, name: 'Priya Shah' },
    newstarter: { email: 'new.starter@icb.northshire.example', email_verified: true, name: 'Sam New' },
  },
};

const raw = process.env.OIDC_PROVIDER_CONFIG || process.argv[2];
const config = raw ? JSON.parse(raw) : DEMO;
const accounts = config.accounts || {};

const server = http.createServer();
server.listen(config.port || 0, '127.0.0.1', () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  const provider = new Provider(issuer, {
    clients: (config.clients || []).map((client) => ({
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      ...client,
    })),
    ...(config.jwks ? { jwks: config.jwks } : {}),
    async findAccount(ctx, id) {
      const claims = accounts[id];
      if (!claims) return undefined;
      return { accountId: id, async claims() { return { sub: id, ...claims }; } };
    },
    claims: { openid: ['sub'], email: ['email', 'email_verified'], profile: ['name', 'given_name', 'family_name'] },
    features: { devInteractions: { enabled: true }, rpInitiatedLogout: { enabled: true } },
    ttl: { IdToken: config.idTokenTtl || 3600 },
  });
  // Plain http on loopback: oidc-provider would otherwise insist on https in production mode.
  provider.proxy = false;
  server.on('request', provider.callback());
  process.stdout.write(`${JSON.stringify({ issuer })}\n`);
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
