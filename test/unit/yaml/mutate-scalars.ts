import { isScalar, parseDocument, visit } from 'yaml';

/** Values that each break a config in a different way: wrong type, empty, traversal, bad zone. */
export const HOSTILE_VALUES: unknown[] = [
  null,
  0,
  -1,
  1e308,
  true,
  [],
  {},
  '',
  '../x',
  'Mars/Olympus',
  '9999-99-99',
  '*',
];

/**
 * Every variant of `text` with one scalar replaced by one hostile value. Used to show that a
 * parser reports problems and never throws, whatever field is wrong.
 */
export function* mutateScalars(text: string): Generator<string> {
  const count = countScalars(text);
  for (let target = 0; target < count; target += 1) {
    for (const value of HOSTILE_VALUES) {
      const doc = parseDocument(text);
      let index = 0;
      visit(doc, {
        Scalar(key) {
          if (key === 'key') return undefined;
          if (index++ === target) return doc.createNode(value);
          return undefined;
        },
      });
      yield doc.toString();
    }
  }
}

function countScalars(text: string): number {
  let count = 0;
  visit(parseDocument(text), {
    Scalar(key, node) {
      if (key !== 'key' && isScalar(node)) count += 1;
    },
  });
  return count;
}
