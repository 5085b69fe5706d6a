/**
 * The Redis Cluster slot of a key (CRC16/XMODEM of the hash tag or the whole key, mod 16384),
 * as https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#hash-tags
 * defines it. Written out here so tests can check key layouts without a cluster.
 */
export function clusterKeySlot(key: string): number {
  let bytes = Buffer.from(key);
  const open = bytes.indexOf('{');
  if (open !== -1) {
    const close = bytes.indexOf('}', open + 1);
    // An empty tag `{}` does not count: the whole key is hashed.
    if (close > open + 1) bytes = bytes.subarray(open + 1, close);
  }
  let crc = 0;
  for (const byte of bytes) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit += 1) {
      crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    }
  }
  return crc % 16384;
}
