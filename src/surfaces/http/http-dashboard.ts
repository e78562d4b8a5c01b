/**
 * The dashboard's files: `/` and `/dashboard/*`, read from `dist/dashboard/` (built by
 * scripts/build.mjs from src/surfaces/dashboard/). Static and public: the page holds no
 * data; it asks `/v1` for everything with the bearer token the operator gives it. A
 * strict Content-Security-Policy keeps every request on this origin.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { FastifyInstance } from "fastify";

const FILES: Readonly<Record<string, string>> = {
  "app.js": "text/javascript; charset=utf-8",
  "app.css": "text/css; charset=utf-8",
};

/** Nothing but this origin: scripts, styles, fetches; no frames, no forms posting elsewhere. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; " +
  "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** Where the built page is: next to the CLI bundle (dist/cli → dist/dashboard), the library (dist/), or the sources. */
function dashboardDir(): string | null {
  const here = dirname(fileURLToPath(import.meta.url));
  for (const candidate of [
    join(here, "..", "dashboard"),
    join(here, "dashboard"),
    join(here, "..", "..", "..", "dist", "dashboard"),
  ]) {
    if (existsSync(join(candidate, "index.html"))) return candidate;
  }
  return null;
}

/** Register `GET /` and the page's assets. */
export function registerDashboard(app: FastifyInstance): void {
  const dir = dashboardDir();
  const cache = new Map<string, Buffer>();
  const read = (name: string): Buffer | null => {
    if (dir === null) return null;
    let body = cache.get(name);
    if (body === undefined) {
      body = readFileSync(join(dir, name));
      cache.set(name, body);
    }
    return body;
  };
  const headers = {
    "content-security-policy": CSP,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "cache-control": "no-cache",
  };
  const missing = { ok: false, code: "UNKNOWN_ROUTE", message: "the dashboard is not built: run npm run build" };

  app.get("/", async (_request, reply) => {
    const body = read("index.html");
    if (body === null) return reply.code(404).send(missing);
    return reply.headers(headers).type("text/html; charset=utf-8").send(body);
  });
  app.get<{ Params: { file: string } }>("/dashboard/:file", async (request, reply) => {
    const type = Object.hasOwn(FILES, request.params.file) ? FILES[request.params.file] : undefined;
    const body = type === undefined ? null : read(request.params.file);
    if (type === undefined || body === null) {
      return reply.code(404).send({ ...missing, message: `no route GET /dashboard/${request.params.file}` });
    }
    return reply.headers(headers).type(type).send(body);
  });
}
