// corsguard in a Supabase Edge Function: the policy answers preflights and puts its headers on
// the function's answers, in place of hand-written OPTIONS handling.
import { Policy, withCors } from 'corsguard';
// As text: a JSON import would hand over an object, which has already lost any key given twice.
import policyText from '../../../policy.json' with { type: 'text' };

const policy = Policy.parse(policyText);

Deno.serve(withCors(policy, async (request: Request) => {
  const { name } = request.method === 'POST' ? await request.json() : { name: 'world' };
  return Response.json({ message: `Hello ${name}!` });
}));
