// One load process for bench/serve.mjs: `clients` concurrent keep-alive clients claim fresh keys
// through baton serve until the wall clock reads `until` (epoch ms); prints the claims answered.
// Args: url token clients until prefix
import http from "node:http";

const [url, token, clients, until, prefix] = process.argv.slice(2);
const { hostname, port } = new URL(url);
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(clients) });
const call = (body) =>
  new Promise((resolve, reject) => {
    const data = JSON.stringify(body);
    const request = http.request(
      {
        host: hostname,
        port,
        path: "/v1/claim",
        method: "POST",
        agent,
        headers: {
          "content-type": "application/json",
          authorization: `Bearer ${token}`,
          "content-length": Buffer.byteLength(data),
        },
      },
      (response) => {
        response.resume();
        response.on("end", () =>
          response.statusCode === 200 ? resolve() : reject(new Error(`claim answered ${response.statusCode}`)),
        );
      },
    );
    request.on("error", reject);
    request.end(data);
  });
let done = 0;
await Promise.all(
  Array.from({ length: Number(clients) }, async (_, c) => {
    for (let i = 0; Date.now() < Number(until); i++) {
      await call({ key: `${prefix}:${c}:${i}` });
      done++;
    }
  }),
);
agent.destroy();
process.stdout.write(`${done}\n`);
