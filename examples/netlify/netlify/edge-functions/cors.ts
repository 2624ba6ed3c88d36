// corsguard as a Netlify Edge Function in front of the site and its functions: preflights are
// answered at the edge, every other answer (`context.next()`) gets the policy's headers.
import { Policy, withCors } from 'corsguard';
// As text: a JSON import would hand over an object, which has already lost any key given twice.
import policyText from '../../policy.json' with { type: 'text' };

/** What this function uses of Netlify's `Context`. */
interface Context {
  next(): Promise<Response>;
}

const policy = Policy.parse(policyText);

export default withCors(policy, (_request: Request, context: Context) => context.next());

export const config = { path: '/api/*' };
