/**
 * HttpBatonApi against servers that are not (or no longer) a healthy `baton serve`: real
 * HTTP servers on loopback answering what a proxy, an older server or a crash would. Every
 * answer becomes a result or a BatonError with a code the CLI can turn into an exit code;
 * nothing is a bare exception. Both transports (fetch and node:http) behave the same.
 */
import { createServer, type Server } from "node:http";
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
