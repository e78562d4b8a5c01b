// One load process for bench/serve.mjs: `clients` concurrent keep-alive clients claim fresh keys
// through baton serve until the wall clock reads `until` (epoch ms); prints the claims answered.
// Args: url token clients until prefix
import { jsonClient } from "./lib.mjs";

const [url, token, clients, until, prefix] = process.argv.slice(2);
const client = jsonClient(url, token, Number(clients));
const call = async (body) => {
  const answer = await client.post("/v1/claim", body);
  if (answer.status !== 200) throw new Error(`claim answered ${answer.status}`);
};
let done = 0;
await Promise.all(
  Array.from({ length: Number(clients) }, async (_, c) => {
    for (let i = 0; Date.now() < Number(until); i++) {
      await call({ key: `${prefix}:${c}:${i}` });
      done++;
    }
  }),
);
client.close();
process.stdout.write(`${done}\n`);
