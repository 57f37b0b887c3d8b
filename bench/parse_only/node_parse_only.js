// V8's parser as node uses it, nothing run: one line per file named on stdin, "ok" or "error <line>: <message>".
// A file is accepted as a CommonJS module (compiled as node's loader wraps it) or as an ES module.
// Usage: node --experimental-vm-modules --no-warnings node_parse_only.js
const fs = require("fs");
const vm = require("vm");
const CJS_PARAMS = ["exports", "require", "module", "__filename", "__dirname"];
const lines = fs.readFileSync(0, "utf8").split("\n").filter(Boolean);
for (const path of lines) {
  const code = fs.readFileSync(path, "utf8").replace(/^#!.*/, "");  // node drops a shebang line
  let first = null;
  try {
    vm.compileFunction(code, CJS_PARAMS, { filename: path });
    console.log("ok");
    continue;
  } catch (e) {
    first = e;
  }
  try {
    new vm.SourceTextModule(code, { identifier: path });
    console.log("ok");
  } catch (e) {
    const err = /\b(import|export)\b/.test(String(first.message)) ? e : first;
    console.log(`error: ${err.name}: ${err.message}`.split("\n")[0]);
  }
}
