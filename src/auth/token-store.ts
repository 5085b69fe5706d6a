import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Redis } from 'ioredis';
import { z } from 'zod';
import { TokenNameTaken } from '../errors.js';
import { TOKEN_SCOPES, type TokenScope } from './principal.js';

export const TOKEN_PREFIX = 'sgt_';
export const TokenName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]{0,63}$/,
    'expected 1-64 chars of [a-z0-9._-], starting with a letter or digit',
  );

const StoredTokenSchema = z.object({
  name: TokenName,
  scope: z.enum(TOKEN_SCOPES),
  /** sha256 of the whole token, hex. */
  hash: z.string().regex(/^[0-9a-f]{64}$/),
  createdAt: z.iso.datetime(),
  createdBy: z.string().max(100),
});
export type StoredToken = z.infer<typeof StoredTokenSchema>;
export type TokenInfo = Omit<StoredToken, 'hash'>;

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/**
 * Named, scoped API tokens. A token is `sgt_` + 32 random bytes, shown once at creation;
 * Redis keeps only its sha256, in one hash (`<prefix>:tokens`, name → record) and one lookup
 * key per digest (`<prefix>:token-digest:<hex>` → name). The lookup is by digest, so no
 * comparison ever runs against a secret; the stored digest is then compared in constant time
 * anyway, so a lookup race with a revoke cannot let a mismatching record pass.
 */
export class TokenStore {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly now: () => Date = () => new Date(),
  ) {}

  private get tokensKey(): string {
    return `${this.prefix}:tokens`;
  }
  private digestKey(hex: string): string {
    return `${this.prefix}:token-digest:${hex}`;
  }

  /** Creates a token; the returned `token` is the only time its value exists outside the caller. */
  async create(
    name: string,
    scope: TokenScope,
    createdBy: string,
  ): Promise<{ token: string; info: TokenInfo }> {
    const validName = TokenName.parse(name);
    const token = `${TOKEN_PREFIX}${randomBytes(32).toString('base64url')}`;
    const hash = sha256(token).toString('hex');
    const record: StoredToken = {
      name: validName,
      scope,
      hash,
      createdAt: this.now().toISOString(),
      createdBy: createdBy.slice(0, 100),
    };
    const added = await this.redis.hsetnx(this.tokensKey, validName, JSON.stringify(record));
    if (added !== 1) throw TokenNameTaken(validName);
    await this.redis.set(this.digestKey(hash), validName);
    const { hash: _hash, ...info } = record;
    return { token, info };
  }

  async list(): Promise<TokenInfo[]> {
    const all = await this.redis.hgetall(this.tokensKey);
    return Object.values(all)
      .map((raw) => StoredTokenSchema.safeParse(JSON.parse(raw)))
      .filter((r) => r.success)
      .map(({ data: { hash: _hash, ...info } }) => info)
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** True when a token of that name existed. Its digest key goes too, so the token stops at once. */
  async revoke(name: string): Promise<boolean> {
    const raw = await this.redis.hget(this.tokensKey, name);
    if (raw === null) return false;
    const record = StoredTokenSchema.safeParse(JSON.parse(raw));
    const multi = this.redis.multi().hdel(this.tokensKey, name);
    if (record.success) multi.del(this.digestKey(record.data.hash));
    await multi.exec();
    return true;
  }

  /** The token's record when `token` is a live token, else undefined. */
  async verify(token: string): Promise<TokenInfo | undefined> {
    if (!token.startsWith(TOKEN_PREFIX) || token.length > 200) return undefined;
    const digest = sha256(token);
    const name = await this.redis.get(this.digestKey(digest.toString('hex')));
    if (name === null) return undefined;
    const raw = await this.redis.hget(this.tokensKey, name);
    if (raw === null) return undefined;
    const record = StoredTokenSchema.safeParse(JSON.parse(raw));
    if (!record.success) return undefined;
    if (!timingSafeEqual(Buffer.from(record.data.hash, 'hex'), digest)) return undefined;
    const { hash: _hash, ...info } = record.data;
    return info;
  }
}
