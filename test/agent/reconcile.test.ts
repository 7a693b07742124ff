import { describe, expect, it } from 'vitest';

import { planReconcile } from '../../src/agent/reconcile.js';
import { parseConfig } from '../../src/config/load.js';
import type { CredentialSpec } from '../../src/config/types.js';

const BASE = `zts: {url: "https://zts.example.com/zts/v1", caFile: ca.pem}
identity: {certFile: c.pem, keyFile: k.pem}
`;

function specs(yaml: string): CredentialSpec[] {
  return [...parseConfig(BASE + yaml, '/etc/agent/config.yaml').credentials];
}

function running(yaml: string): Map<string, CredentialSpec> {
  return new Map(specs(yaml).map((spec) => [spec.id, spec]));
}

const A = '  - {domain: sports, roles: [reader], expiry: 1h}\n';
const B = '  - {domain: sports, roles: [writer]}\n';
const none = { runtime: false, refreshPolicy: false };

describe('reconcile plan', () => {
  it('leaves unchanged entries alone and starts new ones', () => {
    const plan = planReconcile(
      running(`accessTokens:\n${A}`),
      specs(`accessTokens:\n${A}${B}`),
      none,
    );
    expect(plan.keep).toHaveLength(1);
    expect(plan.add.map((spec) => spec.name)).toEqual(['access token sports:role.writer']);
    expect([plan.remove, plan.replace]).toEqual([[], []]);
  });

  it('refetches an entry whose request changed, and only rewrites one whose mode changed', () => {
    const plan = planReconcile(
      running(`accessTokens:\n${A}${B}`),
      specs(
        `accessTokens:\n  - {domain: sports, roles: [reader], expiry: 30m}\n  - {domain: sports, roles: [writer], mode: "0400"}\n`,
      ),
      none,
    );
    expect(plan.replace.map(({ spec, mode }) => [spec.name, mode])).toEqual([
      ['access token sports:role.reader', 'refetch'],
      ['access token sports:role.writer', 'rewrite'],
    ]);
  });

  it('treats a renamed file as a removal plus an addition', () => {
    const plan = planReconcile(
      running(`accessTokens:\n${A}`),
      specs(`accessTokens:\n  - {domain: sports, roles: [reader], expiry: 1h, file: reader.jwt}\n`),
      none,
    );
    expect(plan.remove.map((spec) => spec.file)).toEqual([
      '/var/run/athenz/sports:role.reader.accesstoken',
    ]);
    expect(plan.add.map((spec) => spec.file)).toEqual(['/var/run/athenz/reader.jwt']);
  });

  it('refetches everything when ZTS or the identity changed, and reschedules on a new refresh policy', () => {
    const yaml = `accessTokens:\n${A}${B}`;
    expect(
      planReconcile(running(yaml), specs(yaml), {
        runtime: true,
        refreshPolicy: false,
      }).replace.map(({ mode }) => mode),
    ).toEqual(['refetch', 'refetch']);
    expect(
      planReconcile(running(yaml), specs(yaml), {
        runtime: false,
        refreshPolicy: true,
      }).replace.map(({ mode }) => mode),
    ).toEqual(['restore', 'restore']);
  });
});
