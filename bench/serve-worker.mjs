// One load process for bench/serve.mjs: `clients` concurrent keep-alive clients claim fresh keys
// through baton serve from the wall clock's `from` until `until` (epoch ms); prints the claims
// answered in that window. Every load process of a run gets the same window, so they load the
// server together and the rate is claims / (until - from).
// Args: url token clients from until prefix
import { setTimeout as sleep } from "node:timers/promises";
import { leanClient } from "./lib.mjs";

const [url, token, clients, from, until, prefix] = process.argv.slice(2);
const client = leanClient(url, token, Number(clients));
const call = async (body) => {
  const answer = await client.post("/v1/claim", body);
  if (answer.status !== 200) throw new Error(`claim answered ${answer.status}`);
};
// Connect (one warm-up claim per client) before the window opens.
await Promise.all(Array.from({ length: Number(clients) }, (_, c) => call({ key: `${prefix}:${c}:warm` })));
await sleep(Math.max(0, Number(from) - Date.now()));
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
