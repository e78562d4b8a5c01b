/**
 * Side-effect calls worth gating, as line patterns, for `baton audit-gates`.
 * Pure: the scanner in services reads files and asks these.
 */

/** One kind of side effect and how to spot it on a line. */
export interface SideEffectPattern {
  readonly name: string;
  readonly regex: RegExp;
}

/** The defaults: mail, webhooks, GitHub writes, pushes and publishes, SMTP clients. */
export const DEFAULT_SIDE_EFFECTS: readonly SideEffectPattern[] = [
  { name: "sendmail", regex: /\bsendmail\b/ },
  { name: "mail -s", regex: /(^|[\s;|&(`$])(mail|mailx)\s+(-[a-zA-Z]+\s+)*-s\b/ },
  {
    name: "curl POST",
    regex:
      /\bcurl\b.*(\s-X\s*POST\b|\s--request\s+POST\b|\s-d\s|\s--data(-raw|-binary|-urlencode)?[\s=]|\s--json[\s=]|\s-F\s|\s--form[\s=])/,
  },
  { name: "wget POST", regex: /\bwget\b.*--post-(data|file)\b/ },
  { name: "Slack webhook", regex: /hooks\.slack\.com\/(services|workflows)\// },
  { name: "Discord webhook", regex: /discord(app)?\.com\/api\/webhooks\// },
  { name: "Teams webhook", regex: /(\.webhook\.office\.com|outlook\.office\.com\/webhook)\b/ },
  { name: "gh issue comment", regex: /\bgh\s+issue\s+(comment|create)\b/ },
  { name: "gh pr create", regex: /\bgh\s+pr\s+(create|comment|merge|review)\b/ },
  { name: "git push", regex: /\bgit\s+(-[cC]\s+\S+\s+)*push\b/ },
  { name: "npm publish", regex: /\b(npm|pnpm|yarn)\s+publish\b/ },
  // The sending call, not the import or the connection: that is where a message leaves.
  { name: "SMTP send", regex: /\.(sendMail|send_message|sendmail)\s*\(/ },
];

/** A line counts as gated when it (or the logical shell line it belongs to) runs through `baton gate`. */
const GATED = /\bbaton\s+gate\s+(run|mark)\b|\bcoordination\s+gate\s+run\b|\.gate\s*\(|\bbaton-gate:\s*ok\b/;

/** Does this logical line run through a gate, or carry the `baton-gate: ok` review mark? */
export function isGated(line: string): boolean {
  return GATED.test(line);
}

/** The side effects a line calls. */
export function sideEffectsIn(line: string, patterns: readonly SideEffectPattern[] = DEFAULT_SIDE_EFFECTS): string[] {
  return patterns.filter((p) => p.regex.test(line)).map((p) => p.name);
}
