// The fault table behind DevZts.faults: which injected fault, if any, a request gets. Dispatch asks
// once per request, after routing and before anything else, so a fault set with `times` is used up
// by exactly the requests it touched, even when they run concurrently.

import type { RequestTarget } from './request-target.js';
import type {
  DevZtsEndpoint,
  DevZtsFault,
  DevZtsFaultMatch,
  DevZtsFaultOptions,
  DevZtsFaults,
} from './types.js';

/** ZTSImpl's 400 text while the server is in maintenance read-only mode. */
export const READ_ONLY_MESSAGE =
  'Server in Maintenance Read-Only mode. Please try your request later';

type FaultEndpoint = DevZtsEndpoint | '*';

interface Entry {
  endpoint: FaultEndpoint;
  /** Lower-cased; undefined when the entry applies to every request on its endpoint. */
  match: { domain?: string; roles?: string[] } | undefined;
  /** Canonical form of `match`, so setting the same match again replaces the entry. */
  key: string;
  fault: DevZtsFault;
  /** Requests left before the entry clears itself; undefined: no limit. */
  remaining: number | undefined;
  /** Set order, to break ties between match entries on the same level. */
  seq: number;
}

export class FaultTable implements DevZtsFaults {
  private entries: Entry[] = [];
  private seq = 0;
  private readonly onStall: (on: boolean) => void;

  constructor(onStall: (on: boolean) => void) {
    this.onStall = onStall;
  }

  set(endpoint: FaultEndpoint, fault: DevZtsFault | undefined, options: DevZtsFaultOptions = {}) {
    const match = normalizeMatch(options.match);
    const key = `${endpoint} ${JSON.stringify(match ?? null)}`;
    this.entries = this.entries.filter((entry) => entry.key !== key);
    if (fault === undefined) {
      return;
    }
    checkFault(fault);
    const { times } = options;
    if (times !== undefined && (!Number.isSafeInteger(times) || times < 1)) {
      throw new RangeError(`fault times must be a positive integer, got ${String(times)}`);
    }
    this.seq += 1;
    this.entries.push({ endpoint, match, key, fault, remaining: times, seq: this.seq });
  }

  clear(): void {
    this.entries = [];
    this.onStall(false);
  }

  stallHandshakes(on: boolean): void {
    this.onStall(on);
  }

  /** The fault for this request, counting it against the entry's `times`. */
  take(endpoint: DevZtsEndpoint, target: RequestTarget): DevZtsFault | undefined {
    let best: Entry | undefined;
    let bestRank = -1;
    for (const entry of this.entries) {
      if ((entry.endpoint !== endpoint && entry.endpoint !== '*') || !matches(entry, target)) {
        continue;
      }
      const rank = (entry.endpoint === '*' ? 0 : 2) + (entry.match === undefined ? 0 : 1);
      if (rank > bestRank || (rank === bestRank && best !== undefined && entry.seq > best.seq)) {
        best = entry;
        bestRank = rank;
      }
    }
    if (best?.remaining !== undefined) {
      best.remaining -= 1;
      if (best.remaining === 0) {
        this.entries = this.entries.filter((entry) => entry !== best);
      }
    }
    return best?.fault;
  }
}

function matches(entry: Entry, target: RequestTarget): boolean {
  const { match } = entry;
  if (match === undefined) {
    return true;
  }
  if (match.domain !== undefined && match.domain !== target.domain) {
    return false;
  }
  const requested = target.roles;
  if (match.roles !== undefined) {
    return requested !== undefined && match.roles.some((role) => requested.includes(role));
  }
  return true;
}

/** Lower-cased, with empty criteria dropped: `{}` and `{ roles: [] }` mean "no match". */
function normalizeMatch(match: DevZtsFaultMatch | undefined): Entry['match'] {
  const domain = match?.domain?.toLowerCase();
  const roles = match?.roles?.map((role) => role.toLowerCase()).sort();
  const normal = {
    ...(domain === undefined ? {} : { domain }),
    ...(roles === undefined || roles.length === 0 ? {} : { roles }),
  };
  return Object.keys(normal).length === 0 ? undefined : normal;
}

/** Refuses faults the server could not act on, at set() time rather than mid-request. */
function checkFault(fault: DevZtsFault): void {
  const bad = (what: string): never => {
    throw new RangeError(`invalid ${fault.kind} fault: ${what}`);
  };
  switch (fault.kind) {
    case 'status':
      if (!Number.isInteger(fault.status) || fault.status < 200 || fault.status > 599) {
        bad('status must be an integer from 200 to 599');
      }
      return;
    case 'delay':
      if (!Number.isFinite(fault.ms) || fault.ms < 0) {
        bad('ms must be a finite number >= 0');
      }
      if (fault.then !== undefined) {
        checkFault(fault.then);
      }
      return;
    case 'truncate':
      if (!Number.isSafeInteger(fault.bytes) || fault.bytes < 0) {
        bad('bytes must be an integer >= 0');
      }
      return;
    case 'lifetime':
    case 'expSkew':
    case 'clockSkew':
      if (!Number.isSafeInteger(fault.seconds)) {
        bad('seconds must be an integer');
      }
      return;
    case 'body':
      if (typeof fault.body !== 'string' && typeof fault.body !== 'function') {
        bad('body must be a string or a function');
      }
      return;
    case 'close':
      return;
    default:
      throw new RangeError(
        `unknown fault kind: ${JSON.stringify((fault as { kind: unknown }).kind)}`,
      );
  }
}
