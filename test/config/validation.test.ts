import { describe, expect, it } from 'vitest';

import { loadConfig, parseConfig } from '../../src/config/load.js';
import { ConfigError } from '../../src/errors.js';

const BASE = `zts: {url: "https://zts.example.com:4443/zts/v1", caFile: ca.pem}
identity: {certFile: svc.cert.pem, keyFile: svc.key.pem}
`;

function issuesOf(text: string): string[] {
  try {
    parseConfig(text, '/etc/agent/config.yaml');
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return [...(error as ConfigError).issues];
  }
  throw new Error('config was accepted');
}

describe('config validation', () => {
  it('accepts a minimal config and fills in the defaults', () => {
    const config = parseConfig(
      `${BASE}accessTokens:\n  - domain: sports\n    roles: [reader]\n`,
      '/etc/agent/config.yaml',
    );
    expect(config.output).toEqual({
      dir: '/var/run/athenz',
      mode: 0o440,
      keyMode: 0o400,
      groupId: undefined,
    });
    expect(config.refresh.fraction).toBe(0.5);
    expect(config.zts.caFile).toBe('/etc/agent/ca.pem');
    expect(config.credentials[0]).toMatchObject({
      kind: 'accessToken',
      file: '/var/run/athenz/sports:role.reader.accesstoken',
      format: 'jwt',
      mode: 0o440,
    });
    expect(Object.isFrozen(config.credentials[0])).toBe(true);
  });

  it('names default files as k8s-athenz-sia does', () => {
    const config = parseConfig(
      `${BASE}accessTokens:
  - {domain: sports, roles: [reader]}
  - {domain: sports}
roleTokens:
  - {domain: sports, roles: [writer]}
  - {domain: weather}
`,
      '/etc/agent/config.yaml',
    );
    expect(config.credentials.map((spec) => spec.file)).toEqual([
      '/var/run/athenz/sports:role.reader.accesstoken',
      '/var/run/athenz/sports.accesstoken',
      '/var/run/athenz/sports:role.writer.roletoken',
      '/var/run/athenz/weather.roletoken',
    ]);
  });

  it('lower-cases names as ZTS stores them, and then finds the clash', () => {
    const issues = issuesOf(`${BASE}accessTokens:
  - {domain: Sports, roles: [Reader]}
  - {domain: sports, roles: [reader]}
`);
    expect(issues).toEqual([
      expect.stringMatching(
        /^accessTokens\[1\]: writes ".*sports:role\.reader\.accesstoken", which accessTokens\[0\] already writes/,
      ),
    ]);
  });

  const invalid: Array<[string, string, RegExp]> = [
    ['an unknown top-level key', `${BASE}refesh: {}\n`, /^refesh: unknown key/],
    [
      'an unknown nested key',
      `${BASE}accessTokens:\n  - {domain: a, roels: [b]}\n`,
      /^accessTokens\[0\]\.roels: unknown key/,
    ],
    [
      'a missing required key',
      `zts: {url: "https://z/zts/v1"}\nidentity: {certFile: c, keyFile: k}\n`,
      /^zts\.caFile: required/,
    ],
    [
      'a plain http ZTS URL',
      BASE.replace('https://', 'http://'),
      /^zts\.url: "http:\/\/zts.* is not a ZTS URL: https/,
    ],
    [
      'a path-traversal domain',
      `${BASE}accessTokens:\n  - {domain: ../x}\n`,
      /^accessTokens\[0\]\.domain: "\.\.\/x" is not an Athenz domain name/,
    ],
    [
      'a domain with a slash',
      `${BASE}accessTokens:\n  - {domain: a/b}\n`,
      /^accessTokens\[0\]\.domain: "a\/b" is not an Athenz domain name/,
    ],
    [
      'an empty domain',
      `${BASE}roleTokens:\n  - {domain: ""}\n`,
      /^roleTokens\[0\]\.domain: "" is not an Athenz domain name/,
    ],
    [
      'a role with a colon',
      `${BASE}accessTokens:\n  - {domain: a, roles: ["x:y"]}\n`,
      /^accessTokens\[0\]\.roles\[0\]: "x:y" is not an Athenz role name/,
    ],
    [
      'a path-traversal file name',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b], file: ../../etc/passwd}\n`,
      /^accessTokens\[0\]\.file: "\.\.\/\.\.\/etc\/passwd" is not a plain file name/,
    ],
    [
      'a file name with a slash',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b], file: sub/x}\n`,
      /^accessTokens\[0\]\.file: "sub\/x" is not a plain file name/,
    ],
    [
      'a dot file name',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b], file: .hidden}\n`,
      /^accessTokens\[0\]\.file: "\.hidden" is not a plain file name/,
    ],
    [
      'an unreadable duration',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b], expiry: 5 minutes}\n`,
      /^accessTokens\[0\]\.expiry: "5 minutes" is not a duration/,
    ],
    [
      'an expiry below the refresh floor',
      `${BASE}refresh: {floor: 1m}\naccessTokens:\n  - {domain: a, roles: [b], expiry: 30s}\n`,
      /^accessTokens\[0\]\.expiry: "30s" is shorter than refresh\.floor \("1m"\)/,
    ],
    [
      'two entries writing one file',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b], file: t}\nroleTokens:\n  - {domain: c, file: t}\n`,
      /^roleTokens\[0\]: writes ".*\/t", which accessTokens\[0\] already writes/,
    ],
    [
      'several roles without a file',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b, c]}\n`,
      /^accessTokens\[0\]\.file: required when several roles share one token/,
    ],
    [
      'an empty role list',
      `${BASE}accessTokens:\n  - {domain: a, roles: []}\n`,
      /^accessTokens\[0\]\.roles: \[\] must list at least one role/,
    ],
    [
      'a duplicated role',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b, b], file: t}\n`,
      /^accessTokens\[0\]\.roles: \["b","b"\] lists a role twice/,
    ],
    [
      'a file mode as a bare number',
      `${BASE}output: {mode: 0440}\n`,
      /^output\.mode: 440 is not a file mode: write it as a quoted octal string/,
    ],
    [
      'a group-writable mode',
      `${BASE}output: {mode: "0460"}\n`,
      /^output\.mode: "0460" must not let group or others write/,
    ],
    [
      'a mode the owner cannot read',
      `${BASE}output: {mode: "0040"}\n`,
      /^output\.mode: "0040" must let the owner read/,
    ],
    [
      'a fraction of 1',
      `${BASE}refresh: {fraction: 1}\n`,
      /^refresh\.fraction: 1 must be greater than 0 and less than 1/,
    ],
    [
      'fraction plus jitter reaching expiry',
      `${BASE}refresh: {fraction: 0.8, jitter: 0.3}\n`,
      /^refresh\.jitter: fraction \(0\.8\) plus jitter \(0\.3\) must stay below 1/,
    ],
    [
      'backoff initial above max',
      `${BASE}refresh: {backoff: {initial: 1m, max: 10s}}\n`,
      /^refresh\.backoff: initial \(1m\) must not be longer than max \(10s\)/,
    ],
    [
      'minExpiry above maxExpiry',
      `${BASE}roleTokens:\n  - {domain: a, minExpiry: 2h, maxExpiry: 1h}\n`,
      /^roleTokens\[0\]\.minExpiry: "2h" is longer than maxExpiry \("1h"\)/,
    ],
    [
      'an unknown token format',
      `${BASE}accessTokens:\n  - {domain: a, format: xml}\n`,
      /^accessTokens\[0\]\.format: "xml" is not a token format/,
    ],
    [
      'a malformed listen address',
      `${BASE}health: {listen: "8081"}\n`,
      /^health\.listen: "8081" is not a listen address/,
    ],
    [
      'an unknown log level',
      `${BASE}log: {level: loud}\n`,
      /^log\.level: "loud" is not a log level/,
    ],
    ['a negative group id', `${BASE}output: {groupId: -5}\n`, /^output\.groupId: -5 must be >=0/],
    ['a YAML syntax error', `zts: [1\n`, /YAML syntax: .*at line \d+, column \d+/],
    [
      'a duplicated YAML key',
      `${BASE}log: {level: info}\nlog: {level: debug}\n`,
      /YAML syntax: Map keys must be unique/,
    ],
    ['a document that is not a mapping', `- just\n- a list\n`, /must be a YAML mapping/],
  ];

  it.each(invalid)('rejects %s with a message naming the key', (_kind, text, expected) => {
    const issues = issuesOf(text);
    expect(
      issues.some((issue) => expected.test(issue)),
      issues.join('\n'),
    ).toBe(true);
  });

  it.each([
    [
      'an unknown identity source',
      `identity: {source: magic}`,
      /^identity\.source: source "magic" is not an identity source/,
    ],
    [
      'a dotted service name',
      `identity: {source: register, provider: p.q, domain: d, service: a.b, instanceId: i}`,
      /^identity\.service: "a\.b" is not an Athenz service name/,
    ],
    [
      'an N-token lifetime over 30 days',
      `identity: {source: ntoken, domain: d, service: s, keyFile: k, expiry: 31d}`,
      /^identity\.expiry: "31d" is longer than the maximum of 30d/,
    ],
    [
      'an unset environment variable',
      `identity: {source: register, provider: p.q, domain: d, service: s, instanceId: "\${NOPE_UNSET}"}`,
      /^identity\.instanceId: "\$\{NOPE_UNSET\}" uses \$\{NOPE_UNSET\}, which is not set/,
    ],
  ])('rejects %s in the identity section', (_kind, identity, expected) => {
    const issues = issuesOf(
      `zts: {url: "https://zts.example.com/zts/v1", caFile: ca.pem}\n${identity}\n`,
    );
    expect(
      issues.some((issue) => expected.test(issue)),
      issues.join('\n'),
    ).toBe(true);
  });

  it('expands environment variables, so one ConfigMap serves every pod', () => {
    const config = parseConfig(
      `zts: {url: "https://zts.example.com/zts/v1", caFile: ca.pem}
identity: {source: register, provider: sys.auth.k8s, domain: "\${NS}", service: api, instanceId: "\${POD_UID}", attestationFile: "/run/$\${x}/token"}
roleCerts:
  - {domain: sports, role: reader}
`,
      '/etc/agent/config.yaml',
      { NS: 'sports', POD_UID: '0f3c-11' },
    );
    expect(config.identity).toMatchObject({
      source: 'register',
      principal: 'sports.api',
      instanceId: '0f3c-11',
    });
    expect(config.credentials.map((spec) => spec.name)).toEqual([
      'service identity sports.api',
      'role certificate sports:role.reader',
    ]);
    expect(config.credentials[0]).toMatchObject({ attestationFile: '/run/${x}/token' });
  });

  it('gives role certificates SIA file names, key first, and refuses clashing identity files', () => {
    const config = parseConfig(
      `${BASE}roleCerts:\n  - {domain: sports, role: reader, expiry: 90m}\n`,
      '/etc/agent/config.yaml',
    );
    expect(config.credentials[0]).toMatchObject({
      kind: 'roleCert',
      files: [
        '/var/run/athenz/sports:role.reader.key.pem',
        '/var/run/athenz/sports:role.reader.cert.pem',
      ],
      expiryMins: 90,
      keyMode: 0o400,
      mode: 0o440,
      keyType: 'ec',
    });
    const issues = issuesOf(`zts: {url: "https://z/zts/v1", caFile: ca}
identity: {source: register, provider: p.q, domain: d, service: s, instanceId: i}
roleCerts:
  - {domain: sports, role: reader, certFile: service.cert.pem}
`);
    expect(issues).toEqual([
      expect.stringMatching(
        /^roleCerts\[0\]: writes ".*service\.cert\.pem", which identity already writes/,
      ),
    ]);
  });

  it.each(['config/example.yaml', 'config/demo.yaml'])('accepts the shipped %s', async (file) => {
    const config = await loadConfig(file);
    expect(config.credentials.length).toBeGreaterThan(0);
  });

  it.each([
    [
      'a URL without /zts/v1',
      `zts: {url: "https://zts.example.com:4443", caFile: ca.pem}\nidentity: {certFile: c, keyFile: k}\n`,
      /^zts\.url: .* ending in \/zts\/v1/,
    ],
    [
      'a URL with a password',
      `zts: {url: "https://:secret@zts.example.com/zts/v1", caFile: ca.pem}\nidentity: {certFile: c, keyFile: k}\n`,
      /^zts\.url: .* without query or credentials/,
    ],
    [
      'a token written over the identity key',
      `zts: {url: "https://z/zts/v1", caFile: ca.pem}\nidentity: {certFile: /run/a/svc.cert.pem, keyFile: /run/a/svc.key.pem}\noutput: {dir: /run/a}\naccessTokens:\n  - {domain: s, roles: [r], file: svc.key.pem}\n`,
      /^accessTokens\[0\]: would write "\/run\/a\/svc\.key\.pem", which is identity\.keyFile/,
    ],
    [
      'a token written over the config file',
      `zts: {url: "https://z/zts/v1", caFile: ca.pem}\nidentity: {certFile: c, keyFile: k}\noutput: {dir: /etc/agent}\nroleTokens:\n  - {domain: s, file: config.yaml}\n`,
      /^roleTokens\[0\]: would write "\/etc\/agent\/config\.yaml", which is the config file/,
    ],
    [
      'a liveness limit shorter than a ZTS attempt',
      `${BASE}health: {stuckAfter: 10s}\n`,
      /^health\.stuckAfter: "10s" is shorter than 4 × zts\.requestTimeout \("1m"\)/,
    ],
    [
      'a default file name too long for the filesystem',
      `${BASE}accessTokens:\n  - {domain: sports, roles: [${'r'.repeat(230)}]}\n`,
      /^accessTokens\[0\]: the file name ".*" is longer than 200 characters/,
    ],
    [
      'a request timeout past the timer range',
      `zts: {url: "https://z/zts/v1", caFile: c, requestTimeout: 25d}\nidentity: {certFile: c, keyFile: k}\n`,
      /^zts\.requestTimeout: "25d" is longer than the maximum of 10m/,
    ],
    [
      'an expiry beyond 30 days',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b], expiry: 99999999999999999999d}\n`,
      /^accessTokens\[0\]\.expiry: "99999999999999999999d" is not a duration/,
    ],
    [
      'a number too large to be one',
      `zts: {url: "https://z/zts/v1", caFile: c, maxConnections: 1e400}\nidentity: {certFile: c, keyFile: k}\n`,
      /^zts\.maxConnections: Infinity /,
    ],
    [
      'two files differing only in case',
      `${BASE}accessTokens:\n  - {domain: a, roles: [b], file: A.token}\n  - {domain: a, roles: [c], file: a.token}\n`,
      /^accessTokens\[1\]: writes ".*a\.token", which accessTokens\[0\] already writes/,
    ],
    [
      'an alias bomb',
      `${BASE}a: &a [x]\nb: [${Array.from({ length: 120 }, () => '*a').join(', ')}]\n`,
      /YAML cannot be read: .*alias/i,
    ],
  ])('rejects %s', (_kind, text, expected) => {
    const issues = issuesOf(text);
    expect(
      issues.some((issue) => expected.test(issue)),
      issues.join('\n'),
    ).toBe(true);
  });

  it('reports every problem at once, not only the first', () => {
    const issues = issuesOf(`${BASE}accessTokens:
  - {domain: ../x, roles: [a/b], expiry: soon}
log: {level: loud}
`);
    expect(issues.length).toBeGreaterThanOrEqual(4);
  });
});
