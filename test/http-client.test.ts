/**
 * HttpBatonApi against servers that are not (or no longer) a healthy `baton serve`: real
 * HTTP servers on loopback answering what a proxy, an older server or a crash would. Every
 * answer becomes a result or a BatonError with a code the CLI can turn into an exit code;
 * nothing is a bare exception. Both transports (fetch and node:http) behave the same.
 */
import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fetchTransport, HttpBatonApi, nodeHttpTransport } from "../src/api/http-client.js";
import { isBatonError } from "../src/core/errors.js";

let server: Server;
let url = "";
beforeAll(async () => {
  // The path decides the answer.
  server = createServer((request, response) => {
    let body = "";
    request.on("data", (c: Buffer) => {
      body += c.toString();
    });
    request.on("end", () => {
      const send = (status: number, text: string) =>
        response.writeHead(status, { "content-type": "application/json" }).end(text);
      if (request.url?.startsWith("/v1/events?") === true) return stream(request.url, request.headers, response);
      if (request.url === "/v1/claim")
        return send(
          200,
          JSON.stringify({ ok: true, message: `echo ${body}`, data: { auth: request.headers.authorization } }),
        );
      if (request.url === "/v1/renew")
        return send(409, JSON.stringify({ ok: false, code: "NOT_HOLDER", message: "not yours" }));
      if (request.url === "/v1/complete")
        return send(
          400,
          JSON.stringify({ ok: false, code: "BAD_DURATION", message: "bad ttl", details: { field: "ttl" } }),
        );
      if (request.url === "/v1/release") return send(502, "<html>bad gateway</html>");
      if (request.url === "/v1/abandon")
        return send(409, JSON.stringify({ ok: false, code: "SOMETHING_NEW", message: "from a newer server" }));
      if (request.url === "/v1/show")
        return send(404, JSON.stringify({ ok: false, code: "UNKNOWN_ROUTE", message: "no route" }));
      return send(500, JSON.stringify({ ok: false, code: "INTERNAL", message: "internal error" }));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
});

const event = (id: number, kind: string) => ({ id, at: "2026-01-01T00:00:00.000Z", kind, key: "k:1", agent: "a" });

/** `/v1/events` as baton serve streams it (the query decides what happens), or refuses it. */
function stream(path: string, headers: IncomingHttpHeaders, response: ServerResponse): void {
  const query = new URL(path, "http://x").searchParams;
  if (headers.authorization !== "Bearer t")
    return void response
      .writeHead(401, { "content-type": "application/json" })
      .end(JSON.stringify({ ok: false, code: "UNAUTHENTICATED", message: "no such token" }));
  response.writeHead(200, { "content-type": "text/event-stream" });
  response.write(": baton event stream\n\n");
  const sse = (e: { id: number; kind: string }) => `id: ${e.id}\nevent: ${e.kind}\ndata: ${JSON.stringify(e)}\n\n`;
  if (query.get("after") === "5") {
    // Two events in one write, one split across two, a keep-alive, then the server goes away.
    response.write(sse(event(6, "granted")) + sse(event(7, "renewed")));
    const third = sse(event(8, "released"));
    response.write(third.slice(0, 12));
    setTimeout(() => {
      response.write(`${third.slice(12)}: keep-alive\n\n`);
      response.end();
    }, 20);
  } else if (query.get("after") === "9") {
    response.end(`event: error\ndata: ${JSON.stringify({ code: "STORE_BUSY" })}\n\n`);
  }
  // Otherwise open, nothing more: the client stops it.
}

async function codeOf(promise: Promise<unknown>): Promise<string> {
  try {
    await promise;
  } catch (error) {
    if (isBatonError(error)) return error.code;
    throw error;
  }
  return "no error";
}

describe.each([
  ["fetch", fetchTransport],
  ["node:http", nodeHttpTransport],
] as const)("HttpBatonApi over %s", (_name, transport) => {
  const api = () => new HttpBatonApi({ url, token: "tok", as: "alice", transport });

  it("sends the body with `as` and the bearer token; a 2xx is the result", async () => {
    const r = await api().claim({ key: "k:1" });
    expect(r).toMatchObject({ ok: true, message: 'echo {"key":"k:1","as":"alice"}', data: { auth: "Bearer tok" } });
  });

  it("a denial body is a result; an error body is a BatonError with its code and details", async () => {
    expect(await api().renew({ key: "k:1" })).toMatchObject({ ok: false, code: "NOT_HOLDER", message: "not yours" });
    const error = await api()
      .complete({ key: "k:1" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "BAD_DURATION", message: "bad ttl", details: { field: "ttl" } });
  });

  it("no JSON body, a code it does not know, a missing route, a 500, nobody listening: each a code", async () => {
    expect(await codeOf(api().release({ key: "k:1" }))).toBe("STORE_UNAVAILABLE");
    expect(await codeOf(api().abandon({ key: "k:1" }))).toBe("INTERNAL");
    expect(await codeOf(api().show({ key: "k:1" }))).toBe("UNKNOWN_ROUTE");
    expect(await codeOf(api().supply({}))).toBe("INTERNAL");
    const gone = new HttpBatonApi({ url: "http://127.0.0.1:1", token: "tok", transport });
    expect(await codeOf(gone.show({ key: "k:1" }))).toBe("STORE_UNAVAILABLE");
  });

  it("refuses a bad URL or a missing token before any request", () => {
    expect(() => new HttpBatonApi({ url: "not a url", token: "tok", transport })).toThrow(
      expect.objectContaining({ code: "BAD_OPTION" }),
    );
    expect(() => new HttpBatonApi({ url: "ftp://host", token: "tok", transport })).toThrow(
      expect.objectContaining({ code: "BAD_OPTION" }),
    );
    expect(() => new HttpBatonApi({ url, token: " ", transport })).toThrow(
      expect.objectContaining({ code: "UNAUTHENTICATED" }),
    );
  });
});

describe("HttpBatonApi.follow: the server's event stream", () => {
  const api = (token = "t") => new HttpBatonApi({ url, token });
  const read = async (after: number, signal = new AbortController().signal) => {
    const seen: number[][] = [];
    try {
      for await (const batch of api().follow({ after, key: "k:1" }, signal)) seen.push(batch.map((e) => e.id));
    } catch (error) {
      return { seen, code: isBatonError(error) ? error.code : String(error) };
    }
    return { seen, code: "returned" };
  };

  it("yields the events as they arrive (a split one too), then a stream the server ends is STORE_UNAVAILABLE", async () => {
    const r = await read(5);
    expect(r.seen.flat()).toEqual([6, 7, 8]);
    expect(r.code).toBe("STORE_UNAVAILABLE");
  });

  it("an error event carries the server's code; a refused stream the HTTP answer's", async () => {
    expect((await read(9)).code).toBe("STORE_BUSY");
    const refused = api("wrong").follow({ after: 0 }, new AbortController().signal);
    expect(await codeOf(refused.next())).toBe("UNAUTHENTICATED");
  });

  it("returns when the signal is aborted (Ctrl-C), without an error", async () => {
    const stop = new AbortController();
    const reading = read(3, stop.signal);
    setTimeout(() => stop.abort(), 50);
    expect(await reading).toEqual({ seen: [], code: "returned" });
  });
});
