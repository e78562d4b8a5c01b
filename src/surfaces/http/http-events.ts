/**
 * `GET /v1/events`: the audit log as Server-Sent Events. Ids are audit ids; `Last-Event-ID`
 * (or `?after=`) resumes after the last event the client saw. New events arrive through
 * {@link Baton.follow}: woken by the store's watch capability where it has one (so every
 * server on one PostgreSQL database streams every server's events), polled otherwise.
 */
import { eventView } from "../../api/catalogue.js";
import type { FastifyInstance, FastifyReply } from "fastify";
import { z } from "zod";
import type { Baton } from "../../baton.js";
import { ERROR_CODES, type ErrorCode, isBatonError } from "../../core/errors.js";
import type { BatonEvent, EventKind } from "../../core/types.js";
import { EVENT_KINDS } from "../../core/types.js";
import type { Metrics } from "./http-metrics.js";

export interface EventStreamOptions {
  /** For a store without the watch capability (or with `watch: false`): how often a stream reads again, ms (default 200). */
  readonly pollMs?: number | undefined;
  /** Wake streams through the store's watch capability when it has one (default true). */
  readonly watch?: boolean | undefined;
  /** Seconds between keep-alive comments (default 15). */
  readonly heartbeatSeconds?: number | undefined;
}

function sseEvent(event: BatonEvent): string {
  // The same JSON view of an event as the catalogue's log answers.
  return `id: ${event.id}\nevent: ${event.kind}\ndata: ${JSON.stringify(eventView(event))}\n\n`;
}

function fail(reply: FastifyReply, code: ErrorCode, message: string): FastifyReply {
  return reply.code(ERROR_CODES[code].http).send({ ok: false, code, message });
}

const streamQuery = z
  .object({
    after: z.coerce.number().int().min(0).optional(),
    key: z.string().min(1).optional(),
    agent: z.string().min(1).optional(),
    kind: z
      .string()
      .transform((value) => value.split(","))
      .pipe(z.array(z.enum(EVENT_KINDS as unknown as [EventKind, ...EventKind[]])))
      .optional(),
  })
  .strict();

/**
 * Register `GET /v1/events`. `streams` holds a function that ends each open stream: the
 * server calls them before it waits for its connections to close.
 */
export function registerEventStream(
  app: FastifyInstance,
  baton: Baton,
  metrics: Metrics,
  streams: Set<() => void>,
  options: EventStreamOptions = {},
): void {
  app.get("/v1/events", async (request, reply) => {
    const parsed = streamQuery.safeParse(request.query ?? {});
    if (!parsed.success) {
      return fail(reply, "BAD_INPUT", parsed.error.issues.map((i) => `${i.path.join(".")}: ${i.message}`).join("; "));
    }
    const lastEventId = request.headers["last-event-id"];
    let cursor = parsed.data.after ?? 0;
    if (typeof lastEventId === "string" && lastEventId !== "") {
      if (!/^\d+$/.test(lastEventId)) return fail(reply, "BAD_INPUT", "Last-Event-ID must be an event id");
      cursor = Number(lastEventId);
    }
    const filter = {
      ...(parsed.data.key === undefined ? {} : { key: parsed.data.key }),
      ...(parsed.data.agent === undefined ? {} : { agent: parsed.data.agent }),
      ...(parsed.data.kind === undefined ? {} : { kind: parsed.data.kind }),
    };
    // Bad filters are refused before the stream opens.
    await baton.log({ ...filter, limit: 1 });
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      "content-type": "text/event-stream; charset=utf-8",
      "cache-control": "no-cache, no-transform",
      connection: "keep-alive",
      "x-accel-buffering": "no",
    });
    raw.write(": baton event stream\n\n");
    metrics.streamClients.inc();
    let open = true;
    const stop = new AbortController();
    const heartbeat = setInterval(() => raw.write(": keep-alive\n\n"), (options.heartbeatSeconds ?? 15) * 1000);
    const end = (): void => {
      if (!open) return;
      open = false;
      stop.abort();
      clearInterval(heartbeat);
      metrics.streamClients.dec();
      streams.delete(end);
      raw.end();
    };
    streams.add(end);
    request.raw.on("close", end);
    const onError = (error: unknown): void => {
      if (open)
        raw.write(`event: error\ndata: ${JSON.stringify({ code: isBatonError(error) ? error.code : "INTERNAL" })}\n\n`);
    };
    const events = baton.follow({
      ...filter,
      after: cursor,
      signal: stop.signal,
      pollMs: options.pollMs,
      watch: options.watch,
      onError,
    });
    void (async () => {
      try {
        for await (const batch of events) {
          if (!open) break;
          raw.write(batch.map(sseEvent).join(""));
        }
      } catch (error) {
        // The watch could not be set up (the store unreachable): say so and end; the client reconnects.
        onError(error);
        end();
      }
    })();
  });
}
