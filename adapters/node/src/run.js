'use strict';

// run serves a node on the process's stdin/stdout and exits the process
// when the conversation ends. Stdout belongs to the protocol, so the global
// console is pointed at stderr first: a stray console.log in a handler
// becomes a log line instead of corrupting a frame.

const { Console } = require('node:console');
const { serve, checkNode } = require('./serve');

function run(node, { redirectConsole = true } = {}) {
  checkNode(node);
  const stdout = process.stdout;
  if (redirectConsole) {
    globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });
  }
  serve(node, process.stdin, stdout).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`sluice node ${node.name || ''}: ${(err && err.stack) || err}\n`);
      process.exit(1);
    },
  );
}

module.exports = { run };
