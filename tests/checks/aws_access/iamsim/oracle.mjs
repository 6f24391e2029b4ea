// Differential oracle (ours; iam-simulate itself is AGPL and installed at test time, never vendored).
// Usage: node oracle.mjs <path to the installed @cloud-copilot/iam-simulate package directory>
// Reads one JSON object per stdin line, {"id": ..., "simulation": <iam-simulate Simulation>},
// and writes one line per case: {"id": ..., "result": "Allowed" | "ExplicitlyDenied" |
// "ImplicitlyDenied" | "error", "error": "..."}.
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const pkg = process.argv[2];
if (!pkg) {
  process.stderr.write('usage: node oracle.mjs <iam-simulate package dir>\n');
  process.exit(2);
}
const { runSimulation } = await import(pathToFileURL(join(pkg, 'dist', 'esm', 'index.js')).href);

const lines = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  const item = JSON.parse(line);
  let out;
  try {
    const res = await runSimulation(item.simulation, {});
    if (res.resultType === 'error') {
      out = { id: item.id, result: 'error', error: res.errors.message };
    } else {
      out = { id: item.id, result: res.overallResult };
    }
  } catch (err) {
    out = { id: item.id, result: 'error', error: String(err) };
  }
  process.stdout.write(JSON.stringify(out) + '\n');
}
