// A handler behind the policy that always throws: withCors must answer a 500 with the policy's
// headers and keep the error in the log.
import { Policy, withCors } from 'corsguard';
import policyText from './policy.json' with { type: 'text' };

function fail(): Response {
  throw new Error('secret upstream detail');
}

export default { fetch: withCors(Policy.parse(policyText), fail) } satisfies Deno.ServeDefaultExport;
