// One client process for the group-commit server tests: `concurrency` keep-alive clients claim
// every key once, in an order of their own; prints one JSON line per answer.
// Args: url token keyCount concurrency seed
const [url, token, keyCount, concurrency, seed] = process.argv.slice(2);
const keys = Array.from({ length: Number(keyCount) }, (_, i) => `race:${i}`);
let s = Number(seed);
for (let i = keys.length - 1; i > 0; i--) {
  s = (s * 1103515245 + 12345) % 2147483648;
  const j = s % (i + 1);
  [keys[i], keys[j]] = [keys[j], keys[i]];
}
let next = 0;
const lines = [];
await Promise.all(
  Array.from({ length: Number(concurrency) }, async () => {
    while (next < keys.length) {
      const key = keys[next++];
      const r = await fetch(`${url}/v1/claim`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${token}` },
        body: JSON.stringify({ key, ttl: "10m" }),
      });
      lines.push(JSON.stringify({ key, status: r.status, body: await r.json() }));
    }
  }),
);
process.stdout.write(`${lines.join("\n")}\n`);
