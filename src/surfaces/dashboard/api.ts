/**
 * The dashboard's only ways to the server: `POST /v1/<operation>` and the event stream
 * `GET /v1/events`, both with the bearer token in the Authorization header. EventSource
 * cannot send a header, so the stream is read with fetch; the token never goes into a URL.
 */

/** The one answer shape of every operation. */
export interface Result<T = unknown> {
  readonly ok: boolean;
  readonly code?: string;
  readonly message: string;
  readonly data?: T;
}

/** The token was refused (unknown or revoked): ask for another. */
export class Unauthorized extends Error {}

/** Call one operation. Expected "no"s (409, 403, 400) come back as results with `ok: false`. */
export async function call<T>(
  token: string,
  operation: string,
  body: Record<string, unknown> = {},
): Promise<Result<T>> {
  const response = await fetch(`/v1/${operation.replaceAll("_", "/")}`, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
    cache: "no-store",
  });
  if (response.status === 401) throw new Unauthorized("the token was refused");
  return (await response.json()) as Result<T>;
}

/** Who the token acts as. */
export async function whoami(token: string): Promise<{ agent: string; role: string }> {
  const response = await fetch("/v1/whoami", { headers: { authorization: `Bearer ${token}` }, cache: "no-store" });
  if (response.status === 401) throw new Unauthorized("the token was refused");
  return (await response.json()) as { agent: string; role: string };
}

/** One audit event as the stream and the `log` view send it. */
export interface StreamEvent {
  readonly id: number;
  readonly at: string;
  readonly kind: string;
  readonly key: string;
  readonly agent: string;
  readonly token: number | null;
  readonly commit?: string | null;
  readonly detail: Record<string, unknown> | null;
}

/**
 * Follow the audit log from event `after`: every event goes to `onEvent`; a dropped stream
 * is reopened with `Last-Event-ID` (after 1 s, then up to 10 s), so nothing is missed.
 */
export function follow(
  token: string,
  after: number,
  onEvent: (event: StreamEvent) => void,
  onState: (state: "live" | "down" | "refused") => void,
): { close(): void } {
  let cursor = after;
  let closed = false;
  let controller = new AbortController();
  let delay = 1000;
  const run = async (): Promise<void> => {
    while (!closed) {
      controller = new AbortController();
      try {
        const response = await fetch("/v1/events", {
          headers: { authorization: `Bearer ${token}`, "last-event-id": String(cursor), accept: "text/event-stream" },
          signal: controller.signal,
          cache: "no-store",
        });
        if (response.status === 401) {
          onState("refused");
          return;
        }
        if (!response.ok || response.body === null) throw new Error(`event stream: HTTP ${response.status}`);
        onState("live");
        delay = 1000;
        const reader = response.body.getReader();
        const decoder = new TextDecoder();
        let buffer = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          buffer += decoder.decode(value, { stream: true }).replaceAll("\r\n", "\n");
          let cut = buffer.indexOf("\n\n");
          while (cut >= 0) {
            const frame = buffer.slice(0, cut);
            buffer = buffer.slice(cut + 2);
            cut = buffer.indexOf("\n\n");
            const lines = frame.split("\n");
            if (lines.some((line) => line === "event: error")) continue;
            const data = lines
              .filter((line) => line.startsWith("data: "))
              .map((line) => line.slice(6))
              .join("\n");
            if (data === "") continue;
            const event = JSON.parse(data) as StreamEvent;
            if (event.id > cursor) cursor = event.id;
            onEvent(event);
          }
        }
      } catch {
        // Aborted (closing) or dropped: reopen below unless closing.
      }
      if (closed) return;
      onState("down");
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 10_000);
    }
  };
  void run();
  return {
    close() {
      closed = true;
      controller.abort();
    },
  };
}
