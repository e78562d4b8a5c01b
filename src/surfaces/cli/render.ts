/**
 * How the CLI words claims, events and tasks for people: the lines `show`, `list`, `log`
 * and `task show` print (the same on a registry here and through a server).
 */
import { formatDuration } from "../../core/duration.js";
import { isoSeconds as iso } from "../../core/time.js";
import type { BatonEvent, Claim, Task } from "../../core/types.js";

/** `expires in 5m`, `expired 2h ago`, `completed 3m ago`. */
export function relative(claim: Claim, now: Date): string {
  if (claim.state === "active") return `expires in ${formatDuration(claim.expiresAt.getTime() - now.getTime())}`;
  if (claim.state === "expired") return `expired ${formatDuration(now.getTime() - claim.expiresAt.getTime())} ago`;
  return `${claim.state} ${claim.endedAt ? `${formatDuration(now.getTime() - claim.endedAt.getTime())} ago` : ""}`.trim();
}

/** One audit event on one line. */
export function describeEvent(event: BatonEvent): string {
  const parts = [iso(event.at), event.kind.padEnd(9), event.key, event.agent];
  if (event.token !== null) parts.push(`token=${event.token}`);
  if (event.commit !== null) parts.push(`commit=${event.commit}`);
  const d = event.detail ?? {};
  if (event.kind === "denied") {
    const holders = Array.isArray(d.conflicts)
      ? [...new Set((d.conflicts as { holder?: unknown }[]).map((c) => String(c.holder)))].join(", ")
      : String(d.holder);
    parts.push(`(${String(d.code)}: ${holders})`);
  }
  if (typeof d.result === "string") parts.push(`result=${JSON.stringify(d.result)}`);
  if (typeof d.reason === "string") parts.push(`reason=${JSON.stringify(d.reason)}`);
  if (event.kind === "reaped" && typeof d.by === "string") parts.push(`by=${d.by}`);
  if (typeof d.text === "string") parts.push(JSON.stringify(d.text));
  if (event.kind === "skipped")
    parts.push(
      d.reason === "marked" ? `(marked by ${String(d.markedBy)})` : `(running: ${String(d.holder ?? "another agent")})`,
    );
  if (event.kind === "handed_off")
    parts.push(
      `(to ${String(d.to)}, was token ${String(d.previousToken)}${typeof d.note === "string" ? `: ${JSON.stringify(d.note)}` : ""})`,
    );
  if (event.kind === "resolved")
    parts.push(
      `(${String(d.previousState)}, held by ${String(d.holder)}${typeof d.note === "string" ? `: ${JSON.stringify(d.note)}` : ""})`,
    );
  if (typeof d.via === "string") parts.push(`(${d.via}, held by ${String(d.holder)})`);
  if (event.kind === "verified")
    parts.push(`(done by ${String(d.completedBy)}${typeof d.note === "string" ? `: ${JSON.stringify(d.note)}` : ""})`);
  return parts.join("  ");
}

/** `show KEY`: the claim, then its events. */
export function describeClaim(c: Claim, events: readonly BatonEvent[], now: Date): string {
  const lines = [
    `key:      ${c.key}`,
    `state:    ${c.state} (${relative(c, now)})`,
    `holder:   ${c.agent} (token ${c.token}) since ${iso(c.claimedAt)}`,
    `expires:  ${iso(c.expiresAt)}`,
  ];
  if (c.meta !== null) lines.push(`meta:     ${JSON.stringify(c.meta)}`);
  if (c.result !== null) lines.push(`result:   ${c.result}`);
  if (c.commit !== null) lines.push(`commit:   ${c.commit}`);
  if (c.reason !== null) lines.push(`reason:   ${c.reason}`);
  lines.push("events:");
  for (const event of events) lines.push(`  ${describeEvent(event)}`);
  return lines.join("\n");
}

/** `task show ID`: three lines. */
export function describeTask(task: Task): string {
  return [
    `task:${task.id}  ${task.state}${task.holder ? ` (held by ${task.holder})` : ""}`,
    `  ${task.title}`,
    `  category ${task.category}, priority ${task.priority}${task.blockedBy.length ? `, blocked by ${task.blockedBy.join(", ")}` : ""}${task.paths.length ? `, paths ${task.paths.join(" ")}` : ""}${task.assignee ? `, assigned to ${task.assignee}` : ""}`,
  ].join("\n");
}
