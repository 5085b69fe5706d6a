/**
 * Hostile clients in their own process, so the test process (which times a valid delivery) does
 * not share an event loop with them. `node --import tsx attacker.ts <mode> <port> <count>`:
 * - `upload`: parallel 24 MB uploads with a well-formed but wrong signature; prints the statuses.
 * - `slow`: connections that stall or trickle; prints `CLOSED <n>` when the server closed them all
 *   (or after 30 s).
 * Prints `STARTED` once the attack is under way.
 */
import { request } from 'node:http';
import net from 'node:net';

const [mode, portText, countText] = process.argv.slice(2);
const port = Number(portText);
const count = Number(countText);
const WRONG_SIGNATURE = `sha256=${'0'.repeat(64)}`;
const head = (length: number) =>
  'POST /webhooks/github HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n' +
  `X-GitHub-Event: push\r\nX-GitHub-Delivery: slow\r\nX-Hub-Signature-256: ${WRONG_SIGNATURE}\r\n` +
  `Content-Length: ${length}\r\n\r\n`;

function upload(body: Buffer): Promise<number> {
  return new Promise((resolve) => {
    const req = request({
      port,
      host: '127.0.0.1',
      method: 'POST',
      path: '/webhooks/github',
      headers: {
        'content-type': 'application/json',
        'content-length': body.length,
        'x-github-event': 'push',
        'x-github-delivery': crypto.randomUUID(),
        'x-hub-signature-256': WRONG_SIGNATURE,
      },
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', () => resolve(0));
    req.end(body);
  });
}

if (mode === 'upload') {
  const body = Buffer.alloc(24 * 1024 * 1024, 0x20);
  const flood = Promise.all(Array.from({ length: count }, () => upload(body)));
  process.stdout.write('STARTED\n');
  const statuses = await flood;
  process.stdout.write(`STATUSES ${JSON.stringify(statuses)}\n`);
} else {
  let closed = 0;
  let connected = 0;
  const trickling: net.Socket[] = [];
  const open = (first: string) => {
    const socket = net.connect(port, '127.0.0.1', () => (connected += 1));
    socket.on('error', () => {});
    socket.on('close', () => (closed += 1));
    socket.write(first);
    return socket;
  };
  for (let i = 0; i < count; i++) {
    if (i % 4 === 0)
      open('POST /webhooks/github HTTP/1.1\r\nHost: x\r\n'); // headers never end
    else if (i % 4 === 1)
      open(head(1000) + '{'); // body stalls
    else if (i % 4 === 2)
      trickling.push(open(head(1_000_000) + '{')); // body trickles
    else open(''); // connects and says nothing
    if (i % 200 === 199) await new Promise((r) => setImmediate(r));
  }
  // A byte every 500 ms keeps the idle timeout from firing: only the request timeout ends these.
  const trickle = setInterval(() => trickling.forEach((s) => s.writable && s.write(' ')), 500);
  // Held open, not a SYN flood: the valid delivery starts once every connection is established.
  while (connected + closed < count) await new Promise((r) => setTimeout(r, 20));
  process.stdout.write('STARTED\n');
  const deadline = Date.now() + 30_000;
  while (closed < count && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  clearInterval(trickle);
  process.stdout.write(`CLOSED ${closed}\n`);
  process.exit(0);
}
