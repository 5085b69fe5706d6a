/**
 * The smallest HTTP(S) transport that can trust a private CA. Node's global fetch only
 * takes a custom CA through an undici dispatcher, and undici is not a dependency, so this
 * uses node:https with an Agent that carries `ca` and `rejectUnauthorized`.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpTransportOptions {
  /** PEM bundle to trust besides the system roots (ARGOCD_CA_FILE). */
  ca?: string | Buffer;
  /** Skip TLS verification. Development only. @defaultValue false */
  insecure?: boolean;
}

export interface HttpRequest {
  url: string;
  method: 'GET' | 'POST' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  /** Whole-request deadline: connect, send and read the full body. */
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpResponse {
  status: number;
  body: string;
}

/** Raised for connection-level failures; `code` is the Node error code (ECONNREFUSED, …). */
export class TransportError extends Error {
  readonly code: string;
  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransportError';
    this.code = code;
  }
}

const MAX_BODY_BYTES = 32 * 1024 * 1024;

export interface HttpTransport {
  request(req: HttpRequest): Promise<HttpResponse>;
  /** Closes idle keep-alive sockets. */
  close(): void;
}

export function createHttpTransport(options: HttpTransportOptions = {}): HttpTransport {
  const httpsAgent = new https.Agent({
    keepAlive: true,
    ca: options.ca,
    rejectUnauthorized: options.insecure !== true,
  });
  const httpAgent = new http.Agent({ keepAlive: true });

  function request(req: HttpRequest): Promise<HttpResponse> {
    return new Promise<HttpResponse>((resolve, reject) => {
      const url = new URL(req.url);
      const isHttps = url.protocol === 'https:';
      const headers: Record<string, string | number> = { ...req.headers };
      if (req.body !== undefined) headers['content-length'] = Buffer.byteLength(req.body);
      const client = (isHttps ? https : http).request(url, {
        method: req.method,
        headers,
        agent: isHttps ? httpsAgent : httpAgent,
      });
      let settled = false;
      const finish = (err: Error | undefined, res?: HttpResponse) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        req.signal?.removeEventListener('abort', onAbort);
        if (err) {
          client.destroy();
          reject(err);
        } else resolve(res!);
      };
      const timer = setTimeout(
        () => finish(new TransportError('ETIMEDOUT', `no complete answer within ${req.timeoutMs} ms`)),
        req.timeoutMs,
      );
      const onAbort = () => finish(new TransportError('ABORT_ERR', 'request aborted'));
      if (req.signal?.aborted) {
        onAbort();
        return;
      }
      req.signal?.addEventListener('abort', onAbort, { once: true });
      client.on('error', (err: NodeJS.ErrnoException) =>
        finish(new TransportError(err.code ?? 'ECONNERROR', err.message, { cause: err })),
      );
      client.on('response', (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (chunk: Buffer) => {
          size += chunk.length;
          if (size > MAX_BODY_BYTES) {
            finish(new TransportError('EMSGSIZE', `answer larger than ${MAX_BODY_BYTES} bytes`));
            return;
          }
          chunks.push(chunk);
        });
        res.on('error', (err: NodeJS.ErrnoException) =>
          finish(new TransportError(err.code ?? 'ECONNRESET', err.message, { cause: err })),
        );
        res.on('end', () =>
          finish(undefined, { status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }),
        );
      });
      client.end(req.body);
    });
  }

  return {
    request,
    close() {
      httpsAgent.destroy();
      httpAgent.destroy();
    },
  };
}

/** TLS verification failures are configuration errors: retrying cannot fix them. */
export function isTlsFailure(code: string): boolean {
  return (
    code.startsWith('ERR_TLS') ||
    code.includes('CERT') ||
    code === 'DEPTH_ZERO_SELF_SIGNED_CERT' ||
    code === 'SELF_SIGNED_CERT_IN_CHAIN' ||
    code === 'UNABLE_TO_VERIFY_LEAF_SIGNATURE' ||
    code === 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY' ||
    code === 'EPROTO'
  );
}
