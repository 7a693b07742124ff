// Plans a config reload: which credentials to add, remove, replace or leave alone. Pure, so the
// rules can be read (and tested) in one place.

import type { CredentialSpec } from '../config/types.js';

/**
 * How a replaced credential starts:
 * - `refetch`: something ZTS sees changed (roles, lifetime, kind…): ask ZTS at once;
 * - `rewrite`: only file attributes changed (mode, group): put them on the files on disk;
 * - `restore`: only the refresh policy changed: keep the files, reschedule from them.
 */
export type StartMode = 'refetch' | 'rewrite' | 'restore';

export interface ReconcilePlan {
  add: CredentialSpec[];
  remove: CredentialSpec[];
  replace: Array<{ spec: CredentialSpec; mode: StartMode }>;
  /** Ids left running untouched: no ZTS request, no rewrite. */
  keep: string[];
}

const ATTRIBUTE_KEYS = new Set(['mode', 'keyMode', 'groupId']);

export function planReconcile(
  running: ReadonlyMap<string, CredentialSpec>,
  desired: readonly CredentialSpec[],
  changes: { runtime: boolean; refreshPolicy: boolean },
): ReconcilePlan {
  const plan: ReconcilePlan = { add: [], remove: [], replace: [], keep: [] };
  const wanted = new Set(desired.map((spec) => spec.id));
  for (const spec of running.values()) {
    if (!wanted.has(spec.id)) {
      plan.remove.push(spec);
    }
  }
  for (const spec of desired) {
    const current = running.get(spec.id);
    if (current === undefined) {
      plan.add.push(spec);
      continue;
    }
    const mode = startMode(current, spec, changes);
    if (mode === undefined) {
      plan.keep.push(spec.id);
    } else {
      plan.replace.push({ spec, mode });
    }
  }
  return plan;
}

function startMode(
  current: CredentialSpec,
  next: CredentialSpec,
  changes: { runtime: boolean; refreshPolicy: boolean },
): StartMode | undefined {
  if (changes.runtime) {
    // Another ZTS or another identity: everything is fetched again through it.
    return 'refetch';
  }
  const differing = changedKeys(current, next);
  if (differing.length > 0) {
    return differing.every((key) => ATTRIBUTE_KEYS.has(key)) ? 'rewrite' : 'refetch';
  }
  return changes.refreshPolicy ? 'restore' : undefined;
}

function changedKeys(a: CredentialSpec, b: CredentialSpec): string[] {
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  return [...keys].filter(
    (key) =>
      JSON.stringify((a as unknown as Record<string, unknown>)[key]) !==
      JSON.stringify((b as unknown as Record<string, unknown>)[key]),
  );
}
