import type { FastifyInstance } from 'fastify';
import { PortInUse } from '../errors.js';

/** `app.listen`, with a taken port reported as one line that says what to do. */
export async function listenOrExplain(app: FastifyInstance, port: number, host: string): Promise<void> {
  try {
    await app.listen({ port, host });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EADDRINUSE') throw PortInUse(host, port, { cause: err });
    throw err;
  }
}

/**
 * Runs `start` on an opened runtime; when it fails (a taken port, say), closes what was opened,
 * the embedded Redis included, before the error reaches the CLI.
 */
export async function orShutDown<T>(
  runtime: { shutdown: { run(reason: string): Promise<boolean> } },
  closeConnections: () => void,
  start: () => Promise<T>,
): Promise<T> {
  try {
    return await start();
  } catch (err) {
    closeConnections();
    await runtime.shutdown.run('start failed');
    throw err;
  }
}
