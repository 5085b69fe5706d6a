import { createHash, randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';

/** What a signed-in person's session holds. No GitHub token: Shipgate needs none after sign-in. */
export const SessionSchema = z.object({
  login: z.string().min(1).max(60),
  name: z.string().max(200).nullable(),
  avatarUrl: z.string().max(500).nullable(),
  orgs: z.array(z.string().max(100)).max(500),
  teams: z.array(z.string().max(200)).max(1000),
  csrfToken: z.string().min(32).max(100),
  createdAt: z.iso.datetime(),
  expiresAt: z.iso.datetime(),
});
export type Session = z.infer<typeof SessionSchema>;

export type NewSession = Omit<Session, 'csrfToken' | 'createdAt' | 'expiresAt'>;

/**
 * Console sessions, server-side in Redis under `<prefix>:session:<sha256(id)>` with a TTL.
 * The cookie carries the random id; Redis keeps only its hash, so a Redis dump (or a
 * `KEYS` listing) does not hand out live sessions. Logout deletes the key, which ends the
 * session everywhere at once.
 */
export class SessionStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  private key(id: string): string {
    return `${this.prefix}:session:${createHash('sha256').update(id, 'utf8').digest('hex')}`;
  }

  /** Stores a new session and returns the id for the cookie. */
  async create(input: NewSession): Promise<{ id: string; session: Session }> {
    const id = randomBytes(32).toString('base64url');
    const at = this.now();
    const session: Session = SessionSchema.parse({
      ...input,
      csrfToken: randomBytes(32).toString('base64url'),
      createdAt: new Date(at).toISOString(),
      expiresAt: new Date(at + this.ttlMs).toISOString(),
    });
    await this.redis.set(this.key(id), JSON.stringify(session), 'PX', this.ttlMs);
    return { id, session };
  }

  /** The live session for a cookie id, or undefined (unknown, expired or unreadable). */
  async get(id: string): Promise<{ session: Session; key: string } | undefined> {
    if (id.length === 0 || id.length > 100) return undefined;
    const key = this.key(id);
    const raw = await this.redis.get(key);
    if (raw === null) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      return undefined;
    }
    const session = SessionSchema.safeParse(parsed);
    if (!session.success) return undefined;
    // Redis expires the key; this guards a clock-pinned test or a key restored without its TTL.
    if (Date.parse(session.data.expiresAt) <= this.now()) return undefined;
    return { session: session.data, key };
  }

  async deleteByKey(key: string): Promise<void> {
    await this.redis.del(key);
  }
}
