// corsguard on AWS Lambda@Edge: associate this function with a cache behavior's viewer-request and
// viewer-response events. Lambda@Edge has no environment variables, so the policy travels in the
// function's package, beside this file.
import { readFileSync } from 'node:fs';
import { lambdaEdge } from 'corsguard/lambda-edge';

export const handler = lambdaEdge(readFileSync(new URL('./policy.json', import.meta.url), 'utf8'));
