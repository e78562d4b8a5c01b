// One editor of one task: waits for the start moment, then changes one field of task `t`
// EDITS times through the library (each edit one call), printing nothing.
// argv: LIB_URL, OPTIONS_JSON, FIELD (title | block), EDITS, START (a start-line folder: start-line.mjs)
import { startLine } from "./start-line.mjs";
const [libUrl, optionsJson, field, edits, startAt] = process.argv.slice(2);
const { openBaton } = await import(libUrl);
const baton = await openBaton(JSON.parse(optionsJson));
await startLine(startAt);
for (let i = 0; i < Number(edits); i++) {
  const change = field === "title" ? { title: `title ${i}` } : { block: [`b${i}`] };
  const r = await baton.tasks.update("t", change);
  if (!r.ok) throw new Error(`edit ${i} of ${field} refused: ${r.message}`);
}
await baton.close();
