import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { BadRequest, InternalError, isShipgateError, NotFound } from '../errors.js';

export interface HttpError {
  statusCode: number;
  code: string;
  message: string;
}

/**
 * Maps any error to the status and `{ error: { code, message } }` body Shipgate answers with.
 * Catalogue errors keep their code; fastify's own 4xx errors (body too large, bad media type,
 * schema validation) keep their status under a Shipgate code; anything else is a 500 whose
 * message is not echoed, so internals never leak to clients.
 */
export function toHttpError(err: unknown): HttpError {
  if (isShipgateError(err)) return { statusCode: err.statusCode, code: err.code, message: err.message };
  const fe = err as Partial<FastifyError> | undefined;
  const status = typeof fe?.statusCode === 'number' ? fe.statusCode : 500;
  if (status >= 400 && status < 500) {
    const e = BadRequest(String(fe?.message ?? 'bad request').slice(0, 300));
    const code = status === 400 ? e.code : `SHIPGATE_E_HTTP_${status}`;
    return { statusCode: status, code, message: e.message };
  }
  const internal = InternalError();
  return { statusCode: 500, code: internal.code, message: internal.message };
}

export function errorBody(e: HttpError): { error: { code: string; message: string } } {
  return { error: { code: e.code, message: e.message } };
}

export function sendHttpError(reply: FastifyReply, e: HttpError): FastifyReply {
  return reply.code(e.statusCode).type('application/json; charset=utf-8').send(errorBody(e));
}

export function handleError(err: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const e = toHttpError(err);
  if (e.statusCode >= 500 && e.statusCode !== 503) request.log.error({ err }, 'request failed');
  else if (e.statusCode === 503) request.log.warn({ code: e.code }, e.message);
  return sendHttpError(reply, e);
}

export function handleNotFound(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  return sendHttpError(reply, toHttpError(NotFound(`route ${request.method} ${request.url.slice(0, 100)}`)));
}
