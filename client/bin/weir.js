#!/usr/bin/env node
// The `weir` command line (client/src/cli). Built into dist/ by `npm run build`.
import { main } from "../dist/cli/main.js";

process.exitCode = await main(process.argv.slice(2));
