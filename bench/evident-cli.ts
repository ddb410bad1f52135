/** The `evident` command run from source, so the benchmark needs no build: `node --import tsx bench/evident-cli.ts ...`. */
import { main } from '../src/cli/main.ts';

process.exitCode = await main(process.argv.slice(2));
