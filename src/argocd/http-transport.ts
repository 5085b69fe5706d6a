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

/** A long-lived answer read as it arrives (Argo CD's watch streams). */
export interface HttpStream {
  status: number;
  /** Chunks as they arrive; ends when the server closes, throws `TransportError` when the connection drops. */
  chunks: AsyncIterable<Buffer>;
  /** Drops the connection (the iteration then ends). */
  destroy(): void;
}

export interface HttpStreamRequest {
  url: string;
  headers: Record<string, string>;
  /** Deadline for the status line and headers only: a watch stream is open for hours. */
  connectTimeoutMs: number;
  signal?: AbortSignal;
}

export interface HttpTransport {
  request(req: HttpRequest): Promise<HttpResponse>;
  /**
   * A GET whose body is read as a stream. Resolves once the headers arrive; a non-2xx answer
   * is resolved too, with its (bounded) body in `errorBody`, so the caller maps it like any other.
   */
  stream(req: HttpStreamRequest): Promise<HttpStream & { errorBody?: string }>;
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

  async function stream(req: HttpStreamRequest): Promise<HttpStream & { errorBody?: string }> {
    const url = new URL(req.url);
    const isHttps = url.protocol === 'https:';
    // Headers arrive within the connect deadline; after that only the caller's signal bounds it.
    const connectSignal = AbortSignal.any([
      AbortSignal.timeout(req.connectTimeoutMs),
      ...(req.signal ? [req.signal] : []),
    ]);
    const client = (isHttps ? https : http).request(url, {
      method: 'GET',
      headers: req.headers,
      // Its own socket: a stream must not hold one of the keep-alive pool's sockets forever.
      agent: false,
      ...(isHttps ? { ca: options.ca, rejectUnauthorized: options.insecure !== true } : {}),
    });
    const res = await new Promise<http.IncomingMessage>((resolve, reject) => {
      const onAbort = () => {
        client.destroy();
        reject(
          req.signal?.aborted
            ? new TransportError('ABORT_ERR', 'request aborted')
            : new TransportError('ETIMEDOUT', `no answer within ${req.connectTimeoutMs} ms`),
        );
      };
      if (connectSignal.aborted) return onAbort();
      connectSignal.addEventListener('abort', onAbort, { once: true });
      client.on('error', (err: NodeJS.ErrnoException) => {
        connectSignal.removeEventListener('abort', onAbort);
        reject(new TransportError(err.code ?? 'ECONNERROR', err.message, { cause: err }));
      });
      client.on('response', (r) => {
        connectSignal.removeEventListener('abort', onAbort);
        resolve(r);
      });
      client.end();
    });
    const destroy = () => {
      res.destroy();
      client.destroy();
    };
    const onCallerAbort = () => destroy();
    req.signal?.addEventListener('abort', onCallerAbort, { once: true });
    const status = res.statusCode ?? 0;
    if (status < 200 || status >= 300) {
      let errorBody = '';
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) {
          errorBody += chunk.toString('utf8');
          if (errorBody.length > 64 * 1024) break;
        }
      } catch {
        // The error body is best effort; the status says enough.
      }
      req.signal?.removeEventListener('abort', onCallerAbort);
      destroy();
      return { status, errorBody, chunks: (async function* () {})(), destroy };
    }
    async function* chunks(): AsyncGenerator<Buffer> {
      try {
        for await (const chunk of res as AsyncIterable<Buffer>) yield chunk;
        // A body that stops without its final chunk is a dropped connection, not an end.
        if (!res.complete) throw new TransportError('ECONNRESET', 'stream cut off');
      } catch (err) {
        if (err instanceof TransportError) throw err;
        const code = (err as NodeJS.ErrnoException).code ?? 'ECONNRESET';
        throw new TransportError(code, (err as Error).message, { cause: err });
      } finally {
        req.signal?.removeEventListener('abort', onCallerAbort);
        destroy();
      }
    }
    return { status, chunks: chunks(), destroy };
  }

  return {
    request,
    stream,
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
