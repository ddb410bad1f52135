#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// The AWS SDK (S3 archive targets) warns on every run under Node 20 that its releases from 2027
// on need Node 22; evident pins a release that runs on Node 20, so the notice is not the user's.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

process.exitCode = await main(process.argv.slice(2));
