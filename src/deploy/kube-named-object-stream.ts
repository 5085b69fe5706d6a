/**
 * The list + watch stream of one object by name, as `watch-deployment.ts` (the Deployment) and
 * `watch-rollout.ts` (the Rollout) keep it: narrowed on the server with a `metadata.name`
 * fieldSelector, each listed item and watch event parsed with the object's schema, and anything
 * else with the same name (or not parseable) ignored.
 */
import type { z } from 'zod';
import type { ListWatchStream } from './kube-list-watch.js';

/** A Kubernetes list response, as far as the stream reads it. */
export interface KubeList {
  metadata?: { resourceVersion?: string };
  items?: unknown[];
}

export interface NamedObjectStreamOptions<T extends { metadata: { name: string } }> {
  /** Names the stream in logs. */
  name: string;
  /** The watch path of the object's collection in its namespace. */
  path: string;
  /** The object's `metadata.name`. */
  objectName: string;
  schema: z.ZodType<T>;
  /** Lists the collection narrowed by `fieldSelector`, the items in wire form (JSON). */
  list(fieldSelector: string): Promise<KubeList>;
  /** Replaces the caller's copy of the object (undefined: there is none). */
  set(object: T | undefined): void;
}

export function namedObjectStream<T extends { metadata: { name: string } }>(
  options: NamedObjectStreamOptions<T>,
): ListWatchStream {
  const { schema, objectName } = options;
  const fieldSelector = `metadata.name=${objectName}`;
  return {
    name: options.name,
    path: options.path,
    query: { fieldSelector },
    async list() {
      const body = await options.list(fieldSelector);
      const found = (body.items ?? [])
        .map((i) => schema.safeParse(i))
        .find((p) => p.success && p.data.metadata.name === objectName);
      options.set(found?.success ? found.data : undefined);
      return body.metadata?.resourceVersion;
    },
    apply(type, object) {
      const parsed = schema.safeParse(object);
      if (!parsed.success || parsed.data.metadata.name !== objectName) return false;
      options.set(type === 'DELETED' ? undefined : parsed.data);
      return true;
    },
  };
}
