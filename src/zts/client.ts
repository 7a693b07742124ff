// The ZTS client: one method per endpoint, exactly as the ZTS API defines it. It knows nothing
// about files or schedules; it turns a request into a checked answer or a ZtsError.

import { request } from 'undici';
import type { Dispatcher } from 'undici';
import type * as z from 'zod';

import { ZtsError } from '../errors.js';
import { USER_AGENT } from '../version.js';
import { statusError, transportError } from './errors.js';
import type { Identity } from '../identity/identity.js';
import {
  accessTokenResponse,
  caBundleResponse,
  instanceIdentityResponse,
  roleCertificateResponse,
  roleTokenResponse,
} from './wire.js';
import type {
  AccessTokenResponse,
  InstanceIdentityResponse,
  RoleCertificateResponse,
  RoleTokenResponse,
} from './wire.js';

export interface ZtsClientOptions {
  /** Base URL including `/zts/v1`, without a trailing slash. */
  baseUrl: string;
  /** Who the agent is to ZTS: a client certificate or an N-token. */
  identity: Identity;
  /** TLS without a client certificate, for the calls ZTS does not authenticate. */
  anonymous: {
    dispatcher(): Promise<Dispatcher>;
    withClientCert(cert: string, key: string): Promise<Dispatcher>;
  };
  requestTimeoutMs: number;
}

export interface InstanceRequest {
  provider: string;
  domain: string;
  service: string;
  csr: string;
  attestationData?: string;
  /** Minutes; undefined lets ZTS choose. */
  expiryMins: number | undefined;
}

export interface AccessTokenRequest {
  domain: string;
  /** Short role names; undefined asks for every role held in the domain (`<domain>:domain`). */
  roles: readonly string[] | undefined;
  /** Requested lifetime in seconds; undefined lets ZTS use its default. */
  expiresInSec: number | undefined;
}

export interface RoleTokenRequest {
  domain: string;
  roles: readonly string[] | undefined;
  minExpirySec: number | undefined;
  maxExpirySec: number | undefined;
}

/** ZTS answers are small; anything larger than this is not a ZTS answer. */
const MAX_BODY_BYTES = 1024 * 1024;

export class ZtsClient {
  readonly #options: ZtsClientOptions;

  constructor(options: ZtsClientOptions) {
    this.#options = options;
  }

  /** POST /oauth2/token: one domain per request, scope per the OAuthTokenScope grammar. */
  async accessToken(input: AccessTokenRequest, signal: AbortSignal): Promise<AccessTokenResponse> {
    const scope =
      input.roles === undefined
        ? `${input.domain}:domain`
        : input.roles.map((role) => `${input.domain}:role.${role}`).join(' ');
    const form = new URLSearchParams({ grant_type: 'client_credentials', scope });
    if (input.expiresInSec !== undefined) {
      form.set('expires_in', String(input.expiresInSec));
    }
    return this.#call(
      {
        method: 'POST',
        path: '/oauth2/token',
        body: form.toString(),
        contentType: 'application/x-www-form-urlencoded',
      },
      accessTokenResponse,
      signal,
    );
  }

  /** GET /domain/{domain}/token: role list comma-separated, expiries in seconds. */
  async roleToken(input: RoleTokenRequest, signal: AbortSignal): Promise<RoleTokenResponse> {
    const query = new URLSearchParams();
    if (input.roles !== undefined) {
      query.set('role', input.roles.join(','));
    }
    if (input.minExpirySec !== undefined) {
      query.set('minExpiryTime', String(input.minExpirySec));
    }
    if (input.maxExpirySec !== undefined) {
      query.set('maxExpiryTime', String(input.maxExpirySec));
    }
    const search = query.size > 0 ? `?${query.toString()}` : '';
    return this.#call(
      { method: 'GET', path: `/domain/${encodeURIComponent(input.domain)}/token${search}` },
      roleTokenResponse,
      signal,
    );
  }

  /** POST /rolecert: expiryTime in MINUTES, 0 for the server default. */
  async roleCertificate(
    input: { csr: string; expiryMins: number | undefined },
    signal: AbortSignal,
  ): Promise<RoleCertificateResponse> {
    return this.#call(
      {
        method: 'POST',
        path: '/rolecert',
        body: JSON.stringify({ csr: input.csr, expiryTime: input.expiryMins ?? 0 }),
        contentType: 'application/json',
      },
      roleCertificateResponse,
      signal,
    );
  }

  /**
   * GET /cacerts/{name}: a CA bundle to append to issued certificates. `as` authenticates with
   * a certificate that is not the identity yet (a just-registered one, before it is written).
   */
  async caBundle(
    name: string,
    signal: AbortSignal,
    as?: { cert: string; key: string },
  ): Promise<string> {
    const once =
      as === undefined ? undefined : await this.#options.anonymous.withClientCert(as.cert, as.key);
    try {
      const answer = await this.#call(
        {
          method: 'GET',
          path: `/cacerts/${encodeURIComponent(name)}`,
          ...(once === undefined ? {} : { dispatcher: once }),
        },
        caBundleResponse,
        signal,
      );
      return answer.certs;
    } finally {
      await once?.close();
    }
  }

  /** POST /instance: registration, authenticated by the attestation data alone (201). */
  async registerInstance(
    input: InstanceRequest,
    signal: AbortSignal,
  ): Promise<InstanceIdentityResponse> {
    return this.#call(
      {
        method: 'POST',
        path: '/instance',
        body: JSON.stringify({
          provider: input.provider,
          domain: input.domain,
          service: input.service,
          attestationData: input.attestationData,
          csr: input.csr,
          ...(input.expiryMins === undefined ? {} : { expiryTime: input.expiryMins }),
        }),
        contentType: 'application/json',
        anonymous: true,
      },
      instanceIdentityResponse,
      signal,
    );
  }

  /** POST /instance/{provider}/{domain}/{service}/{instanceId}: refresh over mTLS (200). */
  async refreshInstance(
    input: InstanceRequest & { instanceId: string },
    signal: AbortSignal,
  ): Promise<InstanceIdentityResponse> {
    const path = [input.provider, input.domain, input.service, input.instanceId]
      .map(encodeURIComponent)
      .join('/');
    return this.#call(
      {
        method: 'POST',
        path: `/instance/${path}`,
        body: JSON.stringify({
          csr: input.csr,
          ...(input.expiryMins === undefined ? {} : { expiryTime: input.expiryMins }),
        }),
        contentType: 'application/json',
      },
      instanceIdentityResponse,
      signal,
    );
  }

  async #call<T>(
    call: {
      method: 'GET' | 'POST';
      path: string;
      body?: string;
      contentType?: string;
      /** Send no client certificate and no N-token. */
      anonymous?: boolean;
      /** Send through this dispatcher instead (and no N-token). */
      dispatcher?: Dispatcher;
    },
    schema: z.ZodType<T>,
    stop: AbortSignal,
  ): Promise<T> {
    const what = `${call.method} ${call.path.split('?')[0] ?? call.path}`;
    const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs);
    const signals = { stop, timeout };
    let status: number;
    let text: string;
    try {
      const connection =
        call.dispatcher !== undefined
          ? { dispatcher: call.dispatcher, headers: {} }
          : call.anonymous === true
            ? { dispatcher: await this.#options.anonymous.dispatcher(), headers: {} }
            : await this.#options.identity.connection();
      const headers: Record<string, string> = {
        ...connection.headers,
        accept: 'application/json',
        'user-agent': USER_AGENT,
      };
      if (call.contentType !== undefined) {
        headers['content-type'] = call.contentType;
      }
      const response = await request(`${this.#options.baseUrl}${call.path}`, {
        method: call.method,
        headers,
        body: call.body ?? null,
        dispatcher: connection.dispatcher,
        signal: AbortSignal.any([stop, timeout]),
      });
      status = response.statusCode;
      text = await readBody(response.body, what);
    } catch (error) {
      throw transportError(error, what, signals);
    }

    if (status < 200 || status > 299) {
      throw statusError(status, text, what);
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      throw badResponse(what, `the body is not JSON (${text.length} bytes)`, status, error);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      const fields = parsed.error.issues.map((issue) => issue.path.join('.') || '(body)');
      throw badResponse(
        what,
        `the answer lacks or mistypes ${[...new Set(fields)].join(', ')}`,
        status,
      );
    }
    return parsed.data;
  }
}

/** A well-formed exchange whose answer cannot be used. Retryable: a proxy or a bad node. */
export function badResponse(
  what: string,
  reason: string,
  status?: number,
  cause?: unknown,
): ZtsError {
  return new ZtsError('ZTS_BAD_RESPONSE', `ZTS answer to ${what} is unusable: ${reason}`, {
    status,
    cause,
    retryable: true,
  });
}

async function readBody(body: Dispatcher.ResponseData['body'], what: string): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) {
      body.destroy();
      throw badResponse(what, `the body exceeds ${MAX_BODY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
