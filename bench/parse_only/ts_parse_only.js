// The TypeScript compiler's own parser, nothing after it: one line per file named on stdin, "ok" or
// "error <line>: <message>". Usage: node ts_parse_only.js /path/to/node_modules/typescript
const ts = require(process.argv[2]);
const fs = require("fs");
const lines = fs.readFileSync(0, "utf8").split("\n").filter(Boolean);
for (const path of lines) {
  const kind = path.endsWith("x") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const sf = ts.createSourceFile(path, fs.readFileSync(path, "utf8"), ts.ScriptTarget.Latest, false, kind);
  const d = sf.parseDiagnostics[0];
  if (!d) {
    console.log("ok");
  } else {
    const line = sf.getLineAndCharacterOfPosition(d.start).line + 1;
    console.log(`error ${line}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`);
  }
}
